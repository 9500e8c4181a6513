import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../tools/controlplane/components.ts';

const TICKS_PER_SECOND = 100;

/** The propeller under test, as its own process, with the measurements only the OS and /metrics have. */
export class PropellerProcess {
  readonly child: ChildProcess;
  private output = '';

  /** `root` is the checkout to run (another commit's, to compare two versions); this one by default. */
  constructor(opts: { kubeconfig: string; namespace: string; args: string[]; cpuProfileDir?: string; root?: string }) {
    const nodeFlags = opts.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`] : [];
    this.child = spawn(
      process.execPath,
      [...nodeFlags, join(opts.root ?? repoRoot, 'src', 'main.ts'), '--kubeconfig', opts.kubeconfig, '--namespaces', opts.namespace, '--server-port', '0', '--log-level', 'info', ...opts.args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-200_000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
  }

  async port(): Promise<number> {
    for (let i = 0; i < 600; i++) {
      const m = /"port":(\d+),"msg":"serving/.exec(this.output);
      if (m) return Number(m[1]);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the propeller did not start:\n${this.output.slice(-2000)}`);
  }

  async ready(): Promise<number> {
    const port = await this.port();
    for (let i = 0; i < 600; i++) {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok) return port;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the propeller never became ready');
  }

  /** CPU seconds (user + system) used so far. */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  }

  /** Peak resident memory in bytes (VmHWM). */
  peakRssBytes(): number {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  }

  /** API requests by verb, from the propeller's own metrics. */
  async apiRequestsByVerb(): Promise<Record<string, number>> {
    const text = await (await fetch(`http://127.0.0.1:${await this.port()}/metrics`)).text();
    const byVerb: Record<string, number> = {};
    for (const m of text.matchAll(/^propeller_api_requests_total\{verb="(\w+)",resource="[^"]*",code="[^"]*"\} (\d+)/gm)) {
      byVerb[m[1]!] = (byVerb[m[1]!] ?? 0) + Number(m[2]);
    }
    return byVerb;
  }

  logs(): string {
    return this.output;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}
