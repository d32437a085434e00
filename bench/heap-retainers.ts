// npx tsx bench/heap-retainers.ts <file.heapsnapshot> [top]: what a V8 heap snapshot's memory is
// retained by. Computes the dominator tree (Cooper, Harvey and Kennedy's iterative algorithm, weak
// edges ignored, as DevTools does) and prints retained sizes by constructor and the largest single
// retainers with their dominator chains. For `npm run bench:memory` with BENCH_HEAP_SNAPSHOT=dir.
// The snapshot is large: run with NODE_OPTIONS=--max-old-space-size=8192.
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: heap-retainers.ts <file.heapsnapshot> [top]');
const top = Number(topArg ?? 40);
const data = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const { meta } = data.snapshot;
const nodeWidth = meta.node_fields.length;
const edgeWidth = meta.edge_fields.length;
const field = (fields: string[], name: string) => fields.indexOf(name);
const [nType, nName, nSize, nEdges] = ['type', 'name', 'self_size', 'edge_count'].map((name) => field(meta.node_fields, name)) as [number, number, number, number];
const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((name) => field(meta.edge_fields, name)) as [number, number, number];
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const weak = edgeTypes.indexOf('weak');
const count = data.nodes.length / nodeWidth;

// Edges of node i: firstEdge[i] .. firstEdge[i + 1] (in edge-array units).
const firstEdge = new Uint32Array(count + 1);
for (let i = 0, at = 0; i < count; i += 1) {
  firstEdge[i] = at;
  at += (data.nodes[i * nodeWidth + nEdges] as number) * edgeWidth;
  firstEdge[i + 1] = at;
}
const target = (edge: number) => (data.edges[edge + eTo] as number) / nodeWidth;
const strong = (edge: number) => data.edges[edge + eType] !== weak;

// Reverse postorder from the root (node 0), iteratively.
const order = new Int32Array(count).fill(-1); // postorder number
const postorder: number[] = [];
{
  const stack: number[] = [0];
  const cursor = new Uint32Array(count);
  const seen = new Uint8Array(count);
  seen[0] = 1;
  cursor[0] = firstEdge[0] as number;
  while (stack.length > 0) {
    const node = stack[stack.length - 1] as number;
    let pushed = false;
    while ((cursor[node] as number) < (firstEdge[node + 1] as number)) {
      const edge = cursor[node] as number;
      cursor[node] = edge + edgeWidth;
      if (!strong(edge)) continue;
      const next = target(edge);
      if (seen[next]) continue;
      seen[next] = 1;
      cursor[next] = firstEdge[next] as number;
      stack.push(next);
      pushed = true;
      break;
    }
    if (!pushed) {
      stack.pop();
      order[node] = postorder.length;
      postorder.push(node);
    }
  }
}

// Predecessors of each reachable node, by strong edges.
const predecessorCount = new Uint32Array(count + 1);
for (let node = 0; node < count; node += 1) {
  if (order[node] === -1) continue;
  for (let edge = firstEdge[node] as number; edge < (firstEdge[node + 1] as number); edge += edgeWidth) {
    if (strong(edge)) predecessorCount[target(edge) + 1] = (predecessorCount[target(edge) + 1] as number) + 1;
  }
}
for (let i = 1; i <= count; i += 1) predecessorCount[i] = (predecessorCount[i] as number) + (predecessorCount[i - 1] as number);
const predecessors = new Uint32Array(predecessorCount[count] as number);
{
  const fill = predecessorCount.slice(0, count);
  for (let node = 0; node < count; node += 1) {
    if (order[node] === -1) continue;
    for (let edge = firstEdge[node] as number; edge < (firstEdge[node + 1] as number); edge += edgeWidth) {
      if (!strong(edge)) continue;
      const to = target(edge);
      predecessors[fill[to] as number] = node;
      fill[to] = (fill[to] as number) + 1;
    }
  }
}

// Immediate dominators, iterated to a fixed point over reverse postorder.
const idom = new Int32Array(count).fill(-1);
idom[0] = 0;
const intersect = (a: number, b: number): number => {
  while (a !== b) {
    while ((order[a] as number) < (order[b] as number)) a = idom[a] as number;
    while ((order[b] as number) < (order[a] as number)) b = idom[b] as number;
  }
  return a;
};
for (let changed = true, rounds = 0; changed && rounds < 100; rounds += 1) {
  changed = false;
  for (let i = postorder.length - 2; i >= 0; i -= 1) {
    const node = postorder[i] as number;
    let dominator = -1;
    for (let p = predecessorCount[node] as number; p < (predecessorCount[node + 1] as number); p += 1) {
      const from = predecessors[p] as number;
      if (idom[from] === -1) continue;
      dominator = dominator === -1 ? from : intersect(from, dominator);
    }
    if (dominator !== -1 && idom[node] !== dominator) {
      idom[node] = dominator;
      changed = true;
    }
  }
}

// Retained size: own size plus the retained sizes of the nodes it immediately dominates (postorder
// visits every node before its dominator).
const retained = new Float64Array(count);
for (const node of postorder) retained[node] = (retained[node] as number) + (data.nodes[node * nodeWidth + nSize] as number);
for (const node of postorder) if (node !== 0) retained[idom[node] as number] = (retained[idom[node] as number] as number) + (retained[node] as number);

const typeOf = (node: number) => nodeTypes[data.nodes[node * nodeWidth + nType] as number] as string;
const nameOf = (node: number) => data.strings[data.nodes[node * nodeWidth + nName] as number] as string;
const label = (node: number) => {
  const type = typeOf(node);
  const name = nameOf(node);
  if (type === 'object' || type === 'native' || type === 'synthetic') return name.slice(0, 60);
  if (type === 'closure') return `closure ${name || '(anonymous)'}`;
  return `(${type})`;
};

// By constructor: each object counted unless an object of the same constructor dominates it.
const groups = new Map<string, { count: number; self: number; retained: number }>();
for (const node of postorder) {
  const group = label(node);
  let ancestor = idom[node] as number;
  let nested = false;
  for (let depth = 0; ancestor !== 0 && depth < 64; depth += 1, ancestor = idom[ancestor] as number) {
    if (label(ancestor) === group) {
      nested = true;
      break;
    }
  }
  const entry = groups.get(group) ?? { count: 0, self: 0, retained: 0 };
  entry.count += 1;
  entry.self += data.nodes[node * nodeWidth + nSize] as number;
  if (!nested) entry.retained += retained[node] as number;
  groups.set(group, entry);
}
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
console.log(`${count} nodes, ${postorder.length} reachable; total ${mb(retained[0] as number)} MiB\n`);
console.log('| constructor | count | self MiB | retained MiB |\n|---|---|---|---|');
for (const [name, group] of [...groups].sort((a, b) => b[1].retained - a[1].retained).slice(0, top)) {
  console.log(`| ${name} | ${group.count} | ${mb(group.self)} | ${mb(group.retained)} |`);
}

// The largest single retainers below the roots, with the chain of what dominates them.
const edgeName = (from: number, to: number): string => {
  for (let edge = firstEdge[from] as number; edge < (firstEdge[from + 1] as number); edge += edgeWidth) {
    if (target(edge) !== to) continue;
    const type = edgeTypes[data.edges[edge + eType] as number];
    const name = data.edges[edge + eName] as number;
    return type === 'element' || type === 'hidden' ? `[${name}]` : (data.strings[name] ?? '?');
  }
  return '~';
};
const chain = (node: number): string => {
  const parts: string[] = [];
  for (let at = node, depth = 0; at !== 0 && depth < 8; depth += 1) {
    const up = idom[at] as number;
    parts.unshift(`${label(at)}${up === 0 ? '' : ` .${edgeName(up, at)}`}`);
    at = up;
  }
  return parts.join(' <- ');
};
// A linked list's nodes each retain the rest of it: only its head is shown.
const big = postorder.filter((node) => typeOf(node) !== 'synthetic' && (retained[node] as number) > 1024 * 1024 && label(node) !== label(idom[node] as number)).sort((a, b) => (retained[b] as number) - (retained[a] as number));
console.log('\n| retained MiB | object <- what dominates it (.field it is held in) |\n|---|---|');
for (const node of big.slice(0, top)) console.log(`| ${mb(retained[node] as number)} | ${chain(node).split(' <- ').reverse().join(' <- ')} |`);
