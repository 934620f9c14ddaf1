/** The module door of the control plane (docs/modules.md). */
export { HookLists } from "./HookLists.js";
export { loadControlEntries } from "./control.js";
export { checkDescriptor } from "./descriptor.js";
export { resolveModules, workerModules, type ResolvedModules } from "./loader.js";
export { readModule, type ModuleDefinition } from "./manifest.js";
export { ModuleError } from "./ModuleError.js";
export type { ControlApi, ControlEntry, ControlHooks, GoneReason, HttpRoute } from "./types.js";
export { korusModule } from "./builtin.js";
