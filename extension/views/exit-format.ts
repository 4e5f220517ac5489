// How exits are named and marked in the views.
import * as vscode from 'vscode';
import type { ExitLayer } from '../protocol';

export { exitDisplayName } from './exit-log-store';

const LAYER_ICONS: Record<ExitLayer, [string, string]> = {
  userspace: ['arrow-circle-up', 'charts.blue'],
  hardware: ['circuit-board', 'charts.purple'],
  regcache: ['database', 'charts.orange'],
  kvm: ['bug', 'charts.red'],
  interrupt: ['zap', 'charts.green'],
};

export function exitLayerIcon(layer: ExitLayer): vscode.ThemeIcon {
  const [icon, colour] = LAYER_ICONS[layer] ?? ['circle-small', 'foreground'];
  return new vscode.ThemeIcon(icon, new vscode.ThemeColor(colour));
}
