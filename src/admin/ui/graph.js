// Live pipelines as a cytoscape graph: one compound node per pipeline, its elements inside, an edge per connection
// (green and solid while media flows into the sink, grey and dashed otherwise). The layout runs only when the set
// of elements or connections changes; a poll that changes only flowing states restyles the edges in place.
import { el } from "./api.js";

const STYLE = [
  {
    selector: "node",
    style: {
      label: "data(label)",
      "font-size": 10,
      "text-valign": "center",
      "text-wrap": "wrap",
      shape: "round-rectangle",
      width: 120,
      height: 36,
      "background-color": "#dfe7f3",
      "border-width": 1,
      "border-color": "#7d8fa9",
    },
  },
  {
    selector: "node.pipeline",
    style: {
      "background-color": "#f7f9fc",
      "border-style": "dashed",
      "text-valign": "top",
      "font-size": 9,
      color: "#556",
    },
  },
  { selector: "node.flowing", style: { "border-color": "#137333", "border-width": 2 } },
  {
    selector: "edge",
    style: {
      width: 2,
      "curve-style": "bezier",
      "loop-direction": "0deg",
      "loop-sweep": "-60deg",
      "control-point-step-size": 60,
      "target-arrow-shape": "triangle",
      "line-style": "dashed",
      "line-color": "#a0a8b4",
      "target-arrow-color": "#a0a8b4",
      label: "data(type)",
      "font-size": 8,
    },
  },
  {
    selector: "edge.flowing",
    style: { "line-style": "solid", "line-color": "#137333", "target-arrow-color": "#137333" },
  },
];

const short = (id) => id.slice(id.lastIndexOf("/") + 1, id.lastIndexOf("/") + 9);

export class PipelineGraph {
  constructor(container) {
    this.cy = window.cytoscape({ container, style: STYLE, elements: [], minZoom: 0.2, maxZoom: 1.2 });
    this.shape = "";
  }

  update(pipelines) {
    document.querySelector("#pipelines-count").textContent = `(${pipelines.length})`;
    const nodes = [];
    const edges = [];
    for (const p of pipelines) {
      nodes.push({
        data: { id: p.id, label: `pipeline ${short(p.id)} · worker ${p.worker ?? "–"}` },
        classes: "pipeline",
      });
      for (const e of p.elements) {
        const flowing = e.flowingIn.audio || e.flowingIn.video;
        nodes.push({
          data: { id: e.id, parent: p.id, label: `${e.type}\n${short(e.id)}` },
          classes: flowing ? "flowing" : "",
        });
      }
      // One drawn edge per source and sink, labelled with its media types (AUDIO, VIDEO, DATA).
      const pairs = new Map();
      for (const c of p.edges) {
        const id = `${c.source}|${c.sink}`;
        const pair = pairs.get(id) ?? { data: { id, source: c.source, target: c.sink, type: "" }, flowing: false };
        pair.data.type += `${pair.data.type === "" ? "" : " "}${c.type}`;
        pair.flowing ||= c.flowing;
        pairs.set(id, pair);
      }
      for (const pair of pairs.values()) {
        edges.push({ data: pair.data, classes: pair.flowing ? "flowing" : "" });
      }
    }
    const shape = [...nodes, ...edges].map((x) => x.data.id).join(",");
    if (shape !== this.shape) {
      this.shape = shape;
      this.cy.elements().remove();
      this.cy.add([...nodes, ...edges]);
      this.cy.layout({ name: "breadthfirst", directed: true, padding: 20, spacingFactor: 1.1 }).run();
    } else {
      for (const x of [...nodes, ...edges]) {
        this.cy.getElementById(x.data.id).classes(x.classes);
      }
    }
    this.#list(pipelines);
  }

  // A text list of the same graph, for screen readers and for tests.
  #list(pipelines) {
    const items = pipelines.map((p) => {
      const li = el("li", {}, `pipeline ${short(p.id)}: `);
      li.dataset.pipelineId = p.id;
      for (const e of p.elements) {
        const span = el("span", { className: "graph-element" }, `${e.type} `);
        span.dataset.type = e.type;
        span.dataset.elementId = e.id;
        li.append(span);
      }
      const types = (c) => `${c.type}${c.flowing ? " (flowing)" : ""}`;
      li.append(`· connections: ${p.edges.map(types).join(", ") || "none"}`);
      return li;
    });
    document.querySelector("#graph-list").replaceChildren(...items);
  }
}
