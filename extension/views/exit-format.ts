// How exits are named and marked in the views.
import * as vscode from 'vscode';
import type { ExitLayer, ExitLogEntry } from '../protocol';

/** KVM's name: exits to userspace as KVM_EXIT_*, hardware exits by their vendor name (EXIT_REASON_*, SVM_EXIT_*). */
export function exitDisplayName(e: Pick<ExitLogEntry, 'reason' | 'layer'>): string {
  return e.layer === 'userspace' && !e.reason.startsWith('KVM_EXIT_') ? `KVM_EXIT_${e.reason}` : e.reason;
}

const LAYER_ICONS: Record<ExitLayer, [string, string]> = {
  userspace: ['arrow-circle-up', 'charts.blue'],
  hardware: ['circuit-board', 'charts.purple'],
  regcache: ['database', 'charts.orange'],
  kvm: ['bug', 'charts.red'],
};

export function exitLayerIcon(layer: ExitLayer): vscode.ThemeIcon {
  const [icon, colour] = LAYER_ICONS[layer] ?? ['circle-small', 'foreground'];
  return new vscode.ThemeIcon(icon, new vscode.ThemeColor(colour));
}
