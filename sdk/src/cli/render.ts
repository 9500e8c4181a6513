// How an execution's progress is shown: on a terminal, a table of nodes redrawn in place (the cursor moves
// up over the previous frame, so the scrollback above survives); elsewhere one line per phase change, as
// `kubectl get -w` prints. Both are fed whole statuses, in order, from a watch or from a local run.
import { clearLine, clearScreenDown, cursorTo, moveCursor } from 'node:readline';
import { styleText } from 'node:util';
import type { NodeStatus, WorkflowStatus } from '../../../src/api/flyteworkflow.ts';

export interface Snapshot {
  name: string;
  namespace?: string;
  status?: WorkflowStatus;
  /** The workflow spec (for the order of the nodes): inline, or resolved from a definition. */
  spec?: unknown;
}

export interface Renderer {
  update(snapshot: Snapshot): void;
  /** The last frame stays on screen; nothing is drawn after this. */
  finish(): void;
}

/** Where a gate's decision comes from: the propeller commands on a cluster, flags of a local run. */
export type GateHints = 'remote' | 'local';

export interface RenderOptions {
  now?: () => number;
  hints?: GateHints;
  /** Whether the current namespace differs from the execution's (hints then carry -n). */
  showNamespace?: boolean;
}

const TERMINAL = new Set(['Succeeded', 'Failed', 'Aborted']);

// ─── Text helpers ────────────────────────────────────────────────────────────

/** 0.4s, 12s, 1m05s, 1h02m: short and fixed in shape, for tables. */
export function shortDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** kubectl's AGE: 5s, 3m, 2h, 4d. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

const time = (iso: string | undefined): number | undefined => {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};

/** How long it ran: until it finished, or until now. */
export function elapsed(startedAt: string | undefined, finishedAt: string | undefined, now: number): string {
  const start = time(startedAt);
  if (start === undefined) return '';
  return shortDuration((time(finishedAt) ?? now) - start);
}

const GATE_WAITING = /^(waiting for (approval|a value of type)[^:]*?): kubectl .*$/s;

/** The command that decides a waiting gate, from its message; undefined for any other message. */
export function gateCommand(message: string | undefined, path: string, execution: Snapshot, hints: GateHints | undefined, showNamespace = false): string | undefined {
  const m = message && hints ? GATE_WAITING.exec(message) : null;
  if (!m) return undefined;
  const approve = m[2] === 'approval';
  if (hints === 'local') return approve ? `--approve ${path} or --reject ${path}=REASON` : `--signal ${path}=VALUE`;
  const ns = showNamespace && execution.namespace ? ` -n ${execution.namespace}` : '';
  return approve ? `propeller${ns} approve ${execution.name} ${path}` : `propeller${ns} signal ${execution.name} ${path} VALUE`;
}

/**
 * A waiting gate's message names the kubectl patch that decides it; the CLI's own command is shorter. Other
 * messages are left as they are.
 */
export function gateHint(message: string | undefined, path: string, execution: Snapshot, hints: GateHints | undefined, showNamespace = false): string | undefined {
  const command = gateCommand(message, path, execution, hints, showNamespace);
  return command ? `${GATE_WAITING.exec(message!)![1]}: ${command}` : message;
}

// ─── Node order ──────────────────────────────────────────────────────────────

interface SpecNode {
  inputs?: Record<string, unknown>;
  after?: string[];
  subworkflow?: string;
  branch?: { cases?: { then: SpecNode }[]; else?: SpecNode };
}
interface SpecScope {
  nodes?: Record<string, SpecNode>;
}
interface SpecLike extends SpecScope {
  subworkflows?: Record<string, SpecScope>;
}

/** The nodes a binding reads from (X of X.out; not inputs.* or error.*). */
function bindingSources(binding: unknown, out: Set<string>): void {
  if (typeof binding !== 'object' || binding === null) return;
  const b = binding as { from?: unknown; list?: unknown[]; dict?: Record<string, unknown> };
  if (typeof b.from === 'string') {
    const node = b.from.slice(0, b.from.indexOf('.'));
    if (node && node !== 'inputs' && node !== 'error') out.add(node);
  }
  for (const item of b.list ?? []) bindingSources(item, out);
  for (const item of Object.values(b.dict ?? {})) bindingSources(item, out);
}

function nodeSources(node: SpecNode, out: Set<string>): void {
  for (const b of Object.values(node.inputs ?? {})) bindingSources(b, out);
  for (const a of node.after ?? []) out.add(a);
  // A branch waits for whatever its arms read.
  for (const c of node.branch?.cases ?? []) nodeSources(c.then, out);
  if (node.branch?.else) nodeSources(node.branch.else, out);
}

/** A scope's nodes in dependency order (upstream first), ties in the order the spec lists them. */
function dependencyOrder(scope: SpecScope): Map<string, number> {
  const names = Object.keys(scope.nodes ?? {});
  const deps = new Map(names.map((n) => {
    const d = new Set<string>();
    nodeSources(scope.nodes![n]!, d);
    return [n, [...d].filter((x) => x !== n && names.includes(x))];
  }));
  const rank = new Map<string, number>();
  while (rank.size < names.length) {
    const next = names.find((n) => !rank.has(n) && deps.get(n)!.every((d) => rank.has(d))) ?? names.find((n) => !rank.has(n))!; // a cycle: take it as listed
    rank.set(next, rank.size);
  }
  return rank;
}

/**
 * Orders node paths as the workflow runs them: each scope's nodes upstream first (slope before intercept),
 * a node's nested paths (train/split, check/case-0) right after it, the failure handler last. Computed from
 * the spec alone, so rows never move between frames. Paths the spec does not know go last, by name.
 */
export function pathComparator(spec: unknown): (a: string, b: string) => number {
  const root = spec as SpecLike;
  const orders = new Map<SpecScope, Map<string, number>>();
  const orderOf = (scope: SpecScope) => {
    let o = orders.get(scope);
    if (!o) orders.set(scope, (o = dependencyOrder(scope)));
    return o;
  };
  const LAST = Number.MAX_SAFE_INTEGER;
  const ranks = new Map<string, number[]>();
  const rankOf = (path: string): number[] => {
    const known = ranks.get(path);
    if (known) return known;
    const out: number[] = [];
    let scope: SpecScope | undefined = root;
    let node: SpecNode | undefined;
    for (const part of path.split('/')) {
      if (node?.branch) {
        const cases = node.branch.cases ?? [];
        const m = /^case-(\d+)$/.exec(part);
        const i = m ? Number(m[1]) : part === 'else' ? cases.length : LAST;
        out.push(i);
        node = m ? cases[i]?.then : part === 'else' ? node.branch.else : undefined;
        continue;
      }
      if (node) scope = node.subworkflow ? root.subworkflows?.[node.subworkflow] : undefined;
      if (part === 'onFailure') {
        out.push(LAST - 1);
        node = undefined;
        continue;
      }
      out.push(scope ? (orderOf(scope).get(part) ?? LAST) : LAST);
      node = scope?.nodes?.[part];
    }
    ranks.set(path, out);
    return out;
  };
  return (a, b) => {
    const ra = rankOf(a);
    const rb = rankOf(b);
    for (let i = 0; i < Math.min(ra.length, rb.length); i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
    return ra.length - rb.length || (a < b ? -1 : a > b ? 1 : 0);
  };
}

/** The spec whose nodes an execution runs: its own, or the definition it resolved. */
export function specOfExecution(spec: unknown, status: WorkflowStatus | undefined): unknown {
  if (typeof spec === 'object' && spec !== null && (spec as SpecLike).nodes) return spec;
  return status?.resolved?.workflow;
}

/**
 * A stable order of node paths across frames. With the workflow's spec: as the workflow runs them
 * (pathComparator). Without: as they first appear, each nested path after its parent.
 */
export class NodeOrder {
  private readonly paths: string[] = [];
  private comparator: ((a: string, b: string) => number) | undefined;
  private comparatorOf: unknown;

  update(nodes: Readonly<Record<string, unknown>>, spec?: unknown): readonly string[] {
    if (spec && typeof spec === 'object' && (spec as SpecLike).nodes) {
      if (this.comparatorOf !== spec) {
        this.comparator = pathComparator(spec);
        this.comparatorOf = spec;
      }
      return Object.keys(nodes).sort(this.comparator);
    }
    for (const path of Object.keys(nodes)) {
      if (this.paths.includes(path)) continue;
      const slash = path.lastIndexOf('/');
      if (slash < 0) {
        this.paths.push(path);
        continue;
      }
      const parent = path.slice(0, slash);
      let at = -1;
      for (let i = 0; i < this.paths.length; i++) if (this.paths[i] === parent || this.paths[i]!.startsWith(`${parent}/`)) at = i;
      if (at < 0) this.paths.push(path);
      else this.paths.splice(at + 1, 0, path);
    }
    return this.paths.filter((p) => Object.hasOwn(nodes, p));
  }
}

// ─── Tables ──────────────────────────────────────────────────────────────────

type Style = Parameters<typeof styleText>[0];

/** A piece of a line, with an optional style applied only when colour is on. */
export interface Cell {
  text: string;
  style?: Style;
}

export function phaseStyle(phase: string | undefined): Style | undefined {
  switch (phase) {
    case 'Succeeded':
      return 'green';
    case 'Failed':
    case 'Aborted':
      return 'red';
    case 'Running':
    case 'Queued':
      return 'cyan';
    case 'Retrying':
    case 'Failing':
    case 'Aborting':
      return 'yellow';
    case 'Pending':
    case 'Skipped':
      return 'gray';
    default:
      return undefined;
  }
}

/** Rows of cells as aligned lines: every column but the last padded to its widest cell. */
export function layout(rows: readonly (readonly Cell[])[]): Cell[][] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.text.length)));
  return rows.map((row) => {
    const out: Cell[] = [];
    row.forEach((c, i) => {
      const last = i === row.length - 1;
      out.push({ ...c, text: last ? c.text : c.text.padEnd(widths[i]!) });
      if (!last) out.push({ text: '  ' });
    });
    // No trailing blanks: trim the last cells that are padding only.
    while (out.length && out[out.length - 1]!.text.trim() === '') out.pop();
    if (out.length) out[out.length - 1] = { ...out[out.length - 1]!, text: out[out.length - 1]!.text.trimEnd() };
    return out;
  });
}

/** A line of cells, cut to `width` characters, coloured or not. */
export function paint(cells: readonly Cell[], color: boolean, width = Infinity): string {
  let left = width;
  let out = '';
  for (const c of cells) {
    if (left <= 0) break;
    let text = c.text.replace(/[\r\n\t]+/g, ' ');
    if (text.length > left) text = left > 1 ? `${text.slice(0, left - 1)}…` : text.slice(0, left);
    left -= text.length;
    out += color && c.style && text ? styleText(c.style, text, { validateStream: false }) : text;
  }
  return out;
}

export interface NodeRow {
  path: string;
  node: NodeStatus;
}

/**
 * The node table: path, phase, attempts, duration, message. With `commandsApart`, a waiting gate's message
 * stops before its command (the terminal table shows the commands under the table, where they are not cut).
 */
export function nodeRows(rows: readonly NodeRow[], execution: Snapshot, now: number, options: RenderOptions & { commandsApart?: boolean } = {}): Cell[][] {
  const message = (path: string, node: NodeStatus) => {
    const text = node.message ?? node.error?.message;
    if (options.commandsApart && gateCommand(text, path, execution, options.hints)) return GATE_WAITING.exec(text!)![1]!;
    return gateHint(text, path, execution, options.hints, options.showNamespace) ?? '';
  };
  const header: Cell[] = ['NODE', 'PHASE', 'ATTEMPTS', 'DURATION', 'MESSAGE'].map((text) => ({ text, style: 'bold' as Style }));
  const body = rows.map(({ path, node }): Cell[] => [
    { text: path },
    { text: node.phase, ...(phaseStyle(node.phase) ? { style: phaseStyle(node.phase)! } : {}) },
    { text: node.attempts ? String(node.attempts) : '' },
    { text: elapsed(node.startedAt, node.finishedAt, now) },
    { text: message(path, node) },
  ]);
  return layout([header, ...body]);
}

/** The execution's summary line: name, phase, progress, how long. */
export function summaryCells(snapshot: Snapshot, now: number): Cell[] {
  const s = snapshot.status ?? {};
  const phase = s.phase ?? 'Pending';
  const cells: Cell[] = [{ text: snapshot.name, style: 'bold' }, { text: '  ' }, { text: phase, ...(phaseStyle(phase) ? { style: phaseStyle(phase)! } : {}) }];
  if (s.progress) cells.push({ text: `  ${s.progress}` });
  const d = elapsed(s.startedAt, s.finishedAt, now);
  if (d) cells.push({ text: `  ${d}` });
  return cells;
}

// ─── Plain: one line per change ──────────────────────────────────────────────

/**
 * One line per change of the execution's phase and of each node's phase or attempt, like `kubectl get -w`:
 * nothing is ever redrawn, so it suits logs, pipes and CI.
 */
export class LineRenderer implements Renderer {
  private readonly seen = new Map<string, string>();
  private readonly order = new NodeOrder();
  private workflowSeen: string | undefined;
  private width = 16;
  private readonly write: (text: string) => void;
  private readonly options: RenderOptions;

  constructor(write: (text: string) => void, options: RenderOptions = {}) {
    this.write = write;
    this.options = options;
  }

  update(snapshot: Snapshot): void {
    const now = (this.options.now ?? Date.now)();
    const s = snapshot.status ?? {};
    const nodes = s.nodes ?? {};
    const paths = this.order.update(nodes, snapshot.spec);
    this.width = Math.max(this.width, snapshot.name.length, ...paths.map((p) => p.length));
    const phase = s.phase ?? 'Pending';
    const key = phase;
    if (this.workflowSeen !== key && !TERMINAL.has(phase)) {
      this.workflowSeen = key;
      const progress = s.progress && !s.message?.startsWith(s.progress) ? s.progress : '';
      this.line([snapshot.name, phase, progress, s.message ?? '']);
    }
    for (const path of paths) {
      const node = nodes[path]!;
      const k = `${node.phase}|${node.attempts ?? 0}|${node.phase === 'Running' && node.gate ? node.gate.decision : ''}`;
      if (this.seen.get(path) === k) continue;
      this.seen.set(path, k);
      const attempt = node.attempts ? `attempt ${node.attempts}` : '';
      const done = TERMINAL.has(node.phase) || node.phase === 'Skipped';
      const message = gateHint(node.message ?? node.error?.message, path, snapshot, this.options.hints, this.options.showNamespace) ?? '';
      this.line([path, node.phase, attempt, done ? elapsed(node.startedAt, node.finishedAt, now) : '', message]);
    }
    // The execution's end comes after its nodes' last changes.
    if (this.workflowSeen !== key && TERMINAL.has(phase)) {
      this.workflowSeen = key;
      this.line([snapshot.name, phase, s.progress ?? '', elapsed(s.startedAt, s.finishedAt, now), s.message ?? '']);
    }
  }

  finish(): void {}

  private line(fields: string[]): void {
    const [first, second, ...rest] = fields;
    const text = [first!.padEnd(this.width), (second ?? '').padEnd(9), ...rest.filter((f) => f !== '')].join('  ').replace(/[\r\n]+/g, ' ').trimEnd();
    this.write(`${text}\n`);
  }
}

// ─── TTY: a table redrawn in place ───────────────────────────────────────────

export interface TtyStream {
  write(text: string): boolean;
  columns?: number;
  rows?: number;
}

export interface TtyOptions extends RenderOptions {
  color?: boolean;
  /** Redraw this often (for the running durations); 0 turns the clock off. Default 1 s. */
  tickMs?: number;
  /** Draw at most this often; updates in between are drawn together. Default 50 ms; 0 draws every update. */
  minIntervalMs?: number;
}

/**
 * The node table, redrawn in place on a terminal: each frame moves the cursor up over the previous one and
 * overwrites it line by line (clearing what is left of each line and below), never clearing the screen, so
 * what was printed before stays in the scrollback. Lines are cut to the terminal's width, so none wraps
 * (a wrapped line would throw the cursor arithmetic off), and a frame taller than the terminal leaves out
 * finished nodes first, so it never scrolls.
 */
export class TtyRenderer implements Renderer {
  private readonly stream: TtyStream;
  private readonly options: TtyOptions;
  private readonly order = new NodeOrder();
  private last: Snapshot | undefined;
  private previousLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;
  private lastDraw = 0;
  private finished = false;

  constructor(stream: TtyStream, options: TtyOptions = {}) {
    this.stream = stream;
    this.options = options;
    const tick = options.tickMs ?? 1000;
    if (tick > 0) {
      this.timer = setInterval(() => this.draw(), tick);
      this.timer.unref();
    }
  }

  update(snapshot: Snapshot): void {
    if (this.finished) return;
    this.last = snapshot;
    const gap = this.options.minIntervalMs ?? 50;
    const wait = this.lastDraw + gap - performance.now();
    if (gap <= 0 || wait <= 0) this.draw();
    else this.pending ??= setTimeout(() => this.draw(), wait);
  }

  finish(): void {
    if (this.finished) return;
    if (this.timer) clearInterval(this.timer);
    this.draw();
    this.finished = true;
  }

  /** The lines of the current frame, uncoloured and uncut (for tests and `get`). */
  frame(): string[] {
    return this.frameCells().map((cells) => paint(cells, false));
  }

  private frameCells(): Cell[][] {
    const snapshot = this.last;
    if (!snapshot) return [];
    const now = (this.options.now ?? Date.now)();
    const s = snapshot.status ?? {};
    const nodes = s.nodes ?? {};
    const paths = this.order.update(nodes, snapshot.spec);
    const lines: Cell[][] = [summaryCells(snapshot, now)];
    const failed = s.phase === 'Failed' || s.phase === 'Aborted' || s.phase === 'Failing' || s.phase === 'Aborting';
    const footer: Cell[][] = failed && s.message ? [[{ text: s.message, style: 'red' }]] : [];
    // Under the table, the command that decides each waiting gate, uncut.
    for (const path of paths) {
      const node = nodes[path]!;
      const command = node.phase === 'Running' ? gateCommand(node.message, path, snapshot, this.options.hints, this.options.showNamespace) : undefined;
      if (command) footer.push([{ text: `${path} waits: `, style: 'yellow' }, { text: command, style: 'bold' }]);
    }
    const room = this.stream.rows ? Math.max(1, this.stream.rows - 1 - lines.length - footer.length - 1 /* header */) : Infinity;
    let shown = paths;
    let hidden = 0;
    let hiddenDone = 0;
    if (paths.length > room) {
      // Leave out finished nodes first, oldest first; then nodes still pending, the last first; then the
      // oldest others. One row says how many.
      const keep = Math.max(0, room - 1);
      const drop = new Set<string>();
      const over = () => paths.length - drop.size > keep;
      for (const p of paths) if (over() && (nodes[p]!.phase === 'Succeeded' || nodes[p]!.phase === 'Skipped')) drop.add(p);
      for (const p of [...paths].reverse()) if (over() && nodes[p]!.phase === 'Pending') drop.add(p);
      for (const p of paths) if (over()) drop.add(p);
      shown = paths.filter((p) => !drop.has(p));
      hidden = drop.size;
      hiddenDone = [...drop].filter((p) => nodes[p]!.phase === 'Succeeded' || nodes[p]!.phase === 'Skipped').length;
    }
    if (paths.length) {
      lines.push(...nodeRows(shown.map((path) => ({ path, node: nodes[path]! })), snapshot, now, { ...this.options, commandsApart: true }));
      if (hidden) lines.push([{ text: `… ${hidden} more node${hidden === 1 ? '' : 's'} (${hiddenDone} succeeded or skipped, ${hidden - hiddenDone} other)`, style: 'gray' }]);
    } else if (s.message && !failed) lines.push([{ text: s.message, style: 'gray' }]);
    lines.push(...footer);
    return lines;
  }

  private draw(): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = undefined;
    if (this.finished || !this.last) return;
    this.lastDraw = performance.now();
    const width = this.stream.columns ? Math.max(10, this.stream.columns - 1) : Infinity;
    const lines = this.frameCells().map((cells) => paint(cells, this.options.color ?? false, width));
    const stream = this.stream as NodeJS.WritableStream;
    if (this.previousLines > 0) moveCursor(stream, 0, -this.previousLines);
    cursorTo(stream, 0);
    for (const line of lines) {
      stream.write(line);
      clearLine(stream, 1);
      stream.write('\n');
    }
    clearScreenDown(stream);
    this.previousLines = lines.length;
  }
}
