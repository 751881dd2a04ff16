import fs from 'fs';
import path from 'path';
import process from 'process';
import { glob } from 'glob';

import { SOURCE_DIR } from './constants';

function loadJson(file: string) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export function getPackageJson() {
  return loadJson(path.resolve(process.cwd(), 'package.json'));
}

export function getPluginJson() {
  return loadJson(path.resolve(process.cwd(), `${SOURCE_DIR}/plugin.json`));
}

export function getCPConfigVersion(): string {
  const cprcJson = path.resolve(process.cwd(), '.config', '.cprc.json');
  return fs.existsSync(cprcJson) ? loadJson(cprcJson).version : 'unknown';
}

export function hasReadme() {
  return fs.existsSync(path.resolve(process.cwd(), SOURCE_DIR, 'README.md'));
}

// Every src/**/plugin.json with a sibling module.[jt]sx? is an entry (nested plugins are supported).
export async function getEntries(): Promise<Record<string, string>> {
  const pluginJsons = await glob(`${SOURCE_DIR}/**/plugin.json`, { absolute: true, cwd: process.cwd() });
  const entries: Record<string, string> = {};
  for (const pluginJson of pluginJsons) {
    const folder = path.dirname(pluginJson);
    const modules = await glob('module.{ts,tsx,js,jsx}', { absolute: true, cwd: folder });
    for (const module of modules) {
      const pluginName = path.relative(path.resolve(process.cwd(), SOURCE_DIR), path.dirname(module));
      entries[pluginName === '' ? 'module' : `${pluginName}/module`] = module;
    }
  }
  return entries;
}
