import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Repository root, so the tools work from any working directory. */
export const repoRoot = join(import.meta.dirname, '..', '..');

/** Everything built or downloaded for development lives here, outside the repository. */
export const cacheRoot = process.env['PROPELLER_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'propeller');

/** A Go program built from the module proxy through a wrapper module under tools/go/. */
export interface GoComponent {
  name: string;
  moduleDir: string;
  /** Main packages to build; each becomes a binary named after its last path element. */
  packages: string[];
  binaries: string[];
  version: string;
  ldflags: string;
  /** Built only when asked for by name (`ensureBinaries({ only: [...] })`), so runs that do not need it never pay for it. */
  optional?: boolean;
}

function requiredVersion(moduleDir: string, modulePath: string): string {
  const gomod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  const match = new RegExp(`^\\s*(?:require\\s+)?${modulePath.replaceAll('.', '\\.')}\\s+(v\\S+)`, 'm').exec(gomod);
  if (!match?.[1]) throw new Error(`${moduleDir}/go.mod does not require ${modulePath}`);
  return match[1];
}

function kubeLdflags(version: string): string {
  const [, major, minor] = /^v(\d+)\.(\d+)/.exec(version) ?? [];
  // Stamped like upstream's hack/lib/version.sh so /version and kubectl version tell the truth.
  const vars = [`gitVersion=${version}`, `gitMajor=${major}`, `gitMinor=${minor}`, 'gitTreeState=clean', `buildDate=${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`];
  const pkgs = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'];
  return ['-s', '-w', ...pkgs.flatMap((p) => vars.map((v) => `-X ${p}.${v}`))].join(' ');
}

export function goComponents(): GoComponent[] {
  const dir = (name: string) => join(repoRoot, 'tools', 'go', name);
  const kube = requiredVersion(dir('kube'), 'k8s.io/kubernetes');
  const etcd = requiredVersion(dir('etcd'), 'go.etcd.io/etcd/server/v3');
  const kwok = requiredVersion(dir('kwok'), 'sigs.k8s.io/kwok');
  const helm = requiredVersion(dir('helm'), 'helm.sh/helm/v3');
  const versitygw = requiredVersion(dir('versitygw'), 'github.com/versity/versitygw');
  return [
    { name: 'etcd', moduleDir: dir('etcd'), packages: ['go.etcd.io/etcd/server/v3'], binaries: ['etcd'], version: etcd, ldflags: '-s -w' },
    {
      name: 'kube',
      moduleDir: dir('kube'),
      packages: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'].map((c) => `k8s.io/kubernetes/cmd/${c}`),
      binaries: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'],
      version: kube,
      ldflags: kubeLdflags(kube),
    },
    {
      name: 'kwok',
      moduleDir: dir('kwok'),
      packages: ['sigs.k8s.io/kwok/cmd/kwok'],
      binaries: ['kwok'],
      version: kwok,
      ldflags: '-s -w',
    },
    {
      name: 'helm',
      moduleDir: dir('helm'),
      packages: ['helm.sh/helm/v3/cmd/helm'],
      binaries: ['helm'],
      version: helm,
      // Without these helm reports v3.x and assumes Kubernetes v1.20 for lint and template.
      ldflags: [
        '-s -w',
        `-X helm.sh/helm/v3/internal/version.version=${helm}`,
        ...['pkg/chartutil', 'pkg/lint/rules'].map((p) => `-X helm.sh/helm/v3/${p}.k8sVersionMajor=1 -X helm.sh/helm/v3/${p}.k8sVersionMinor=34`),
      ].join(' '),
    },
    {
      // The S3 server of the data plane's tests and demo; only those that ask for S3 build it.
      name: 'versitygw',
      moduleDir: dir('versitygw'),
      packages: ['github.com/versity/versitygw/cmd/versitygw'],
      binaries: ['versitygw'],
      version: versitygw,
      ldflags: `-s -w -X main.Version=${versitygw}`,
      optional: true,
    },
  ];
}

/**
 * Where a component's binaries live. The key covers the pinned module graph (go.mod and go.sum)
 * and the Go toolchain, so changing a pin or Go builds anew and never reuses a stale binary.
 */
export function binDir(component: GoComponent, goVersion: string): string {
  const hash = createHash('sha256');
  hash.update(readFileSync(join(component.moduleDir, 'go.mod')));
  hash.update(readFileSync(join(component.moduleDir, 'go.sum')));
  hash.update(goVersion);
  hash.update(component.ldflags.replace(/buildDate=\S+/g, ''));
  return join(cacheRoot, 'bin', `${component.name}-${component.version}-${hash.digest('hex').slice(0, 12)}`);
}
