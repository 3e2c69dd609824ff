// The one function that writes a webview's <html>: strict CSP (default-src 'none'), a fresh script nonce,
// no inline script, no eval. Every panel and view in EM Lab goes through here.
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';

export interface WebviewPageOptions {
  webview: vscode.Webview;
  extensionUri: vscode.Uri;
  /** Bundle name under dist/media/ (built from media/<name>/main.ts). */
  bundle: string;
  title: string;
  /** Optional stylesheet under media/ (e.g. 'common.css'). */
  styles?: string[];
  /** Initial data for the page, serialised into a data attribute (no inline script). */
  initialState?: unknown;
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'media'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderWebviewHtml(o: WebviewPageOptions): string {
  const nonce = randomBytes(16).toString('base64');
  const script = o.webview.asWebviewUri(vscode.Uri.joinPath(o.extensionUri, 'dist', 'media', `${o.bundle}.js`));
  const styles = (o.styles ?? ['common.css']).map((s) => o.webview.asWebviewUri(vscode.Uri.joinPath(o.extensionUri, 'media', s)));
  const csp = [
    "default-src 'none'",
    `img-src ${o.webview.cspSource} data: blob:`,
    `style-src ${o.webview.cspSource} 'unsafe-inline'`, // toolkit components and Chart.js set element styles
    `font-src ${o.webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  const state = o.initialState === undefined ? '' : ` data-initial-state="${escapeAttr(JSON.stringify(o.initialState))}"`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${styles.map((s) => `<link rel="stylesheet" href="${s}">`).join('\n')}
<title>${escapeAttr(o.title)}</title>
</head>
<body${state}>
<div id="app"></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
