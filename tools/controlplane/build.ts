import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { binDir, goComponents, type GoComponent } from './components.ts';
import { isRunning, startTimeOf } from './processes.ts';

const run = promisify(execFile);

/** Go must never fetch a newer toolchain behind our back, and builds are static like upstream's. */
const goEnv = (): NodeJS.ProcessEnv => ({ ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=readonly -buildvcs=false' });

export type BinaryPaths = Record<string, string>;

/**
 * Absolute paths of the dev binaries, building any that are missing from the cache: every component
 * that is not optional, or those that `only` names (by component or by binary name: `kube` or `kubectl`).
 */
export async function ensureBinaries(opts: { only?: string[]; log?: (line: string) => void } = {}): Promise<BinaryPaths> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const goVersion = await goVersionOf();
  const paths: BinaryPaths = {};
  for (const component of goComponents()) {
    const wanted = opts.only ? [component.name, ...component.binaries].some((n) => opts.only!.includes(n)) : !component.optional;
    if (!wanted) continue;
    const dir = binDir(component, goVersion);
    const built = () => component.binaries.every((b) => existsSync(join(dir, b)));
    if (!built()) {
      // Another process (a parallel test file, say) may be building the same thing: wait for it, then look again.
      await withBuildLock(dir, component.name, log, async () => {
        if (!built()) await build(component, dir, goVersion, log);
      });
    }
    for (const b of component.binaries) paths[b] = join(dir, b);
  }
  return paths;
}

/**
 * One build per cache directory at a time, across processes: a lock file holding the builder's pid and
 * start time. A lock whose builder is gone (killed mid-build) is taken over.
 */
async function withBuildLock(dir: string, name: string, log: (line: string) => void, fn: () => Promise<void>): Promise<void> {
  const lock = `${dir}.lock`;
  await mkdir(dirname(lock), { recursive: true });
  let waiting = false;
  for (;;) {
    try {
      await writeFile(lock, `${process.pid} ${startTimeOf(process.pid) ?? ''}`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const [pid, startTime] = (await readFile(lock, 'utf8').catch(() => '')).split(' ');
    if (pid && startTime !== undefined && !isRunning({ pid: Number(pid), startTime })) {
      await rm(lock, { force: true });
      continue;
    }
    if (!waiting) log(`[build] ${name}: another process (pid ${pid || '?'}) is building it; waiting…`);
    waiting = true;
    await sleep(1000);
  }
  try {
    await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

async function goVersionOf(): Promise<string> {
  try {
    const { stdout } = await run('go', ['env', 'GOVERSION'], { env: goEnv() });
    return stdout.trim();
  } catch (err) {
    throw new Error(`Go is needed to build the local control plane (kube-apiserver, etcd, KWOK, helm) and was not found: ${String(err)}`);
  }
}

async function build(component: GoComponent, dir: string, goVersion: string, log: (line: string) => void): Promise<void> {
  const started = Date.now();
  log(`[build] ${component.name} ${component.version} with ${goVersion}: resolving packages…`);
  const total = await countPackages(component);
  const staging = `${dir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  // One package: name the file ourselves (go would call etcd's `server`); several: go names them.
  const output = component.packages.length === 1 ? join(staging, component.binaries[0]!) : `${staging}/`;
  const args = ['build', '-v', '-trimpath', '-ldflags', component.ldflags, '-o', output, ...component.packages];
  const child = spawn('go', args, { cwd: component.moduleDir, env: goEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  const progress = new Progress(component.name, total, started, log);
  const errors: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    // `go build -v` names each package as it compiles; anything else is an error worth showing.
    if (/^[\w.\-/]+$/.test(line)) progress.step();
    else errors.push(line);
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  progress.finish();
  if (code !== 0) {
    await rm(staging, { recursive: true, force: true });
    throw new Error(`building ${component.name} failed (go build exit ${code}):\n${errors.slice(-40).join('\n')}`);
  }
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  log(`[build] ${component.name} done in ${((Date.now() - started) / 1000).toFixed(0)}s → ${dir}`);
}

async function countPackages(component: GoComponent): Promise<number> {
  try {
    const { stdout } = await run('go', ['list', '-deps', ...component.packages], {
      cwd: component.moduleDir,
      env: goEnv(),
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout.split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

/** A one-line bar on a terminal; a line every 15 s in CI logs. */
class Progress {
  private done = 0;
  private lastPrint = 0;
  private readonly tty = process.stderr.isTTY;
  private readonly name: string;
  private readonly total: number;
  private readonly started: number;
  private readonly log: (line: string) => void;

  constructor(name: string, total: number, started: number, log: (line: string) => void) {
    this.name = name;
    this.total = total;
    this.started = started;
    this.log = log;
  }

  step(): void {
    this.done++;
    const now = Date.now();
    if (now - this.lastPrint < (this.tty ? 200 : 15_000)) return;
    this.lastPrint = now;
    const line = this.describe();
    if (this.tty) process.stderr.write(`\r${line}\x1b[K`);
    else this.log(line);
  }

  finish(): void {
    if (this.tty) process.stderr.write(`\r${this.describe()}\x1b[K\n`);
  }

  private describe(): string {
    const secs = Math.round((Date.now() - this.started) / 1000);
    const elapsed = `${Math.floor(secs / 60)}m${String(secs % 60).padStart(2, '0')}s`;
    if (!this.total) return `[build] ${this.name}: ${this.done} packages compiled, ${elapsed}`;
    // Cached packages are not printed, so the count can stop short of the total.
    const pct = Math.min(100, Math.round((this.done / this.total) * 100));
    return `[build] ${this.name}: ${this.done}/${this.total} packages (${pct}%), ${elapsed}`;
  }
}
