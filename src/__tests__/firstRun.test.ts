// The first commands a newcomer runs: `npm run server` (scripts/server.sh) and scripts/native-grafana.sh's help and
// dry runs. Each must end in a sentence that says what to do, never in a raw tool error, and a dry run must
// change nothing.
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';

const repo = path.resolve(__dirname, '../..');
const bash = fs.existsSync('/bin/bash') ? '/bin/bash' : 'bash';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sheepdog-first-run-'));
}

/** A PATH holding only the given tools (symlinks to this machine's), plus fake ones written as scripts. */
function binDir(tools: string[], fakes: Record<string, string> = {}): string {
  const dir = tempDir();
  for (const tool of tools) {
    const found = spawnSync(bash, ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found) {
      fs.symlinkSync(found, path.join(dir, tool));
    }
  }
  for (const [name, body] of Object.entries(fakes)) {
    fs.writeFileSync(path.join(dir, name), `#!${bash}\n${body}\n`, { mode: 0o755 });
  }
  return dir;
}

function run(script: string, args: string[], env: Record<string, string>) {
  const r = spawnSync(bash, [path.join(repo, 'scripts', script), ...args], {
    encoding: 'utf8',
    env: { HOME: os.tmpdir(), ...env },
    timeout: 30000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('npm run server (scripts/server.sh)', () => {
  it('is what package.json runs', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
    expect(pkg.scripts.server).toBe('bash scripts/server.sh');
  });

  it('without docker says to install Docker with Compose v2 or use native-grafana.sh', () => {
    const { code, out } = run('server.sh', [], { PATH: binDir(['dirname', 'cat']) });
    expect(code).toBe(1);
    expect(out).toContain('docker not found on PATH');
    expect(out).toContain('Compose v2');
    expect(out).toContain('scripts/native-grafana.sh run');
    expect(out).not.toMatch(/command not found|unknown flag/);
  });

  it('with a Docker client lacking the compose plugin says so, not "unknown flag: --build"', () => {
    // As on this project's CI machine: `docker compose` is an unknown command there.
    const fakeDocker = 'echo "docker: unknown command: docker $1" >&2; exit 1';
    const { code, out } = run('server.sh', [], { PATH: binDir(['dirname', 'cat'], { docker: fakeDocker }) });
    expect(code).toBe(1);
    expect(out).toContain("Docker is installed but 'docker compose' does not work");
    expect(out).toContain('scripts/native-grafana.sh');
    expect(out).not.toContain('unknown flag');
  });

  it('with Compose v2 runs docker compose up --build in the repository', () => {
    const log = path.join(tempDir(), 'docker.log');
    const fakeDocker = [
      'if [ "$1 $2" = "compose version" ]; then echo "Docker Compose version v2.29.7"; exit 0; fi',
      `echo "$PWD: $*" > ${log}`,
    ].join('\n');
    const { code, out } = run('server.sh', [], { PATH: binDir(['dirname', 'cat'], { docker: fakeDocker }) });
    expect(out).toContain('Docker Compose version v2.29.7');
    expect(code).toBe(0);
    expect(fs.readFileSync(log, 'utf8').trim()).toBe(`${repo}: compose up --build`);
  });
});

describe('scripts/native-grafana.sh', () => {
  // This machine's PATH without any directory that holds a Grafana binary.
  const pathWithoutGrafana = (process.env.PATH ?? '')
    .split(':')
    .filter((d) => !['grafana', 'grafana-server'].some((b) => fs.existsSync(path.join(d, b))))
    .join(':');

  it('--help prints the usage, and only the usage, and succeeds', () => {
    for (const flag of ['--help', '-h', 'help']) {
      const { code, out } = run('native-grafana.sh', [flag], { PATH: pathWithoutGrafana });
      expect(code).toBe(0);
      expect(out).toContain('scripts/native-grafana.sh stack-stop');
      expect(out).toContain('--dry-run');
      expect(out).not.toMatch(/set -euo pipefail|unknown command/);
    }
    const none = run('native-grafana.sh', [], { PATH: pathWithoutGrafana });
    expect(none.code).toBe(2);
    expect(none.out).not.toContain('set -euo pipefail');
  });

  it('run --dry-run says that no Grafana is installed, then shows the rest', () => {
    const state = tempDir();
    const { code, out } = run('native-grafana.sh', ['run', '--dry-run'], {
      PATH: pathWithoutGrafana,
      SHEEPDOG_NATIVE_DIR: state,
    });
    expect(code).toBe(0);
    expect(out).toContain('no Grafana found');
    expect(out).toContain('GF_PATHS_PLUGINS=' + path.join(state, 'plugins'));
    expect(fs.readdirSync(state)).toEqual([]);
  });

  it('stack --dry-run writes nothing', () => {
    const state = tempDir();
    const { code, out } = run('native-grafana.sh', ['stack', '--dry-run'], {
      PATH: pathWithoutGrafana,
      SHEEPDOG_NATIVE_DIR: state,
    });
    expect(code).toBe(0);
    expect(out).toContain(`+ write ${path.join(state, 'stack', 'prometheus.yml')}`);
    expect(fs.readdirSync(state)).toEqual([]);
  });

  it('stack-stop says what it stopped or why not', () => {
    const state = tempDir();
    fs.mkdirSync(path.join(state, 'stack'));
    // A pid that is certainly gone: a child that has already exited.
    const gone = spawnSync(bash, ['-c', 'sh -c "exit 0" & p=$!; wait $p; echo $p'], { encoding: 'utf8' }).stdout.trim();
    fs.writeFileSync(path.join(state, 'stack', 'prometheus.pid'), gone);
    const { code, out } = run('native-grafana.sh', ['stack-stop'], {
      PATH: pathWithoutGrafana,
      SHEEPDOG_NATIVE_DIR: state,
    });
    expect(code).toBe(0);
    expect(out).toContain(`prometheus was not running (stale pid ${gone})`);
    expect(out).toContain('sheepdog-api: not started by');
    expect(out).toContain('sheepdog-demo: not started by');
    expect(fs.existsSync(path.join(state, 'stack', 'prometheus.pid'))).toBe(false);
  });
});
