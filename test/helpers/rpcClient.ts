// The raw JSON-RPC client lives in bench/lib so benchmarks can use it too (nothing may import test/).
export { RpcClient, type RpcMessage } from "../../bench/lib/RpcClient.js";
