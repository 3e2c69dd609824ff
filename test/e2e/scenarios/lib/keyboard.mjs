// A keyboard-only audit of one webview: Tab from the top through every control until focus leaves the view or comes
// back round; each control the page has must be reached, and each focused element must have an accessible name as
// Chromium's accessibility tree computes it (CDP Accessibility.getPartialAXTree, the name a screen reader reads).
// Toolkit controls keep their real input inside a shadow root: focus is mapped back to the element on the page.

const CONTROLS = [
  'button', 'a[href]', 'input', 'select', 'textarea', 'summary', '[tabindex]:not([tabindex="-1"])',
  'vscode-button', 'vscode-checkbox', 'vscode-dropdown', 'vscode-text-field', 'vscode-text-area', 'vscode-radio-group', 'vscode-link',
].join(', ');

/** Names a screen reader would read that say nothing about the control. */
const GENERIC_NAMES = new Set(['text field', 'textbox', 'text area', 'button', 'checkbox', 'combobox', 'select', 'dropdown', 'radio', 'link', 'input']);

/** Marks every visible, enabled control with data-kb (its number); returns what each is, for messages. */
async function markControls(frame) {
  return frame.evaluate((selector) => {
    for (const e of document.querySelectorAll('[data-kb]')) e.removeAttribute('data-kb'); // an earlier audit's marks
    const visible = (e) => {
      const r = e.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) return false;
      for (let n = e; n; n = n.parentElement) {
        const s = getComputedStyle(n);
        if (s.display === 'none' || s.visibility === 'hidden') return false;
        if (n.tagName === 'DETAILS' && !n.open && !(e.tagName === 'SUMMARY' && e.parentElement === n) && n !== e) return false;
      }
      return true;
    };
    const inside = (e) => !!e.parentElement?.closest('vscode-radio-group, vscode-dropdown, vscode-button, vscode-checkbox, vscode-text-field, vscode-text-area, vscode-link');
    const disabled = (e) => e.disabled === true || e.hasAttribute('disabled') || e.getAttribute('aria-disabled') === 'true';
    const all = [...document.querySelectorAll(selector)].filter((e) => visible(e) && !disabled(e) && !e.closest('[hidden]') && !inside(e));
    return all.map((e, i) => {
      e.setAttribute('data-kb', String(i));
      return `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.getAttribute('data-field') ? `[data-field=${e.getAttribute('data-field')}]` : ''} "${(e.getAttribute('aria-label') ?? e.textContent ?? '').trim().slice(0, 40)}"`;
    });
  }, CONTROLS);
}

/** The focused control's data-kb (through shadow roots) and the deepest focused element, as a remote object. */
const FOCUSED = `(() => {
  if (!document.hasFocus()) return null;
  let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  let host = a;
  while (host && !(host.getAttribute && host.getAttribute('data-kb'))) host = host.parentNode instanceof ShadowRoot ? host.parentNode.host : host.parentElement;
  window.__kbFocused = a;
  return host ? host.getAttribute('data-kb') : a && a !== document.body ? 'other:' + a.tagName : null;
})()`;

/** A CDP session on the page and the id of the frame's main-world execution context (webviews share the page's process). */
async function frameSession(page, frame) {
  const cdp = await page.context().newCDPSession(page);
  const { frameTree } = await cdp.send('Page.getFrameTree');
  const flat = [];
  const walk = (t) => {
    flat.push(t.frame);
    for (const c of t.childFrames ?? []) walk(c);
  };
  walk(frameTree);
  // The webview's own document: the frame named active-frame (pending-frame while loading) under the webview's
  // outer frame, whose URL carries the same id as Playwright's view of it.
  const id = /[?&]id=([\w-]+)/.exec(frame.url())?.[1];
  const target = flat.find((f) => ['active-frame', 'pending-frame'].includes(f.name) && id && f.url.includes(`id=${id}`));
  if (!target) throw new Error(`the webview frame with id ${id} is not in the page's frame tree (${flat.length} frames)`);
  const contexts = [];
  cdp.on('Runtime.executionContextCreated', (e) => contexts.push(e.context));
  await cdp.send('Runtime.enable');
  await new Promise((r) => setTimeout(r, 200));
  const context = contexts.find((c) => c.auxData?.frameId === target.id && c.auxData?.isDefault);
  if (!context) throw new Error(`no execution context for the webview frame ${frame.url()}`);
  return { cdp, contextId: context.id };
}

export async function keyboardAudit(page, frame, { label, maxTabs = 250, log = () => {} }) {
  const controls = await markControls(frame);
  const { cdp, contextId } = await frameSession(page, frame);
  await cdp.send('Accessibility.enable');
  await cdp.send('DOM.enable');
  const nameOfFocused = async () => {
    const { result } = await cdp.send('Runtime.evaluate', { expression: 'window.__kbFocused', contextId });
    if (!result.objectId) return { role: '?', name: '' };
    const { node } = await cdp.send('DOM.describeNode', { objectId: result.objectId });
    const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { backendNodeId: node.backendNodeId, fetchRelatives: false });
    const ax = nodes[0] ?? {};
    return { role: ax.role?.value ?? '?', name: (ax.name?.value ?? '').trim() };
  };
  // Start from the top of the page: focus the document, then Tab.
  await frame.evaluate(() => {
    document.body.setAttribute('tabindex', '-1');
    document.body.focus();
  });
  const reached = new Map(); // data-kb -> { role, name }
  const unnamed = [];
  let first;
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press('Tab');
    const { result } = await cdp.send('Runtime.evaluate', { expression: FOCUSED, returnByValue: true, contextId });
    const id = result.value;
    if (id === null) break; // focus left the view
    if (id === first) break; // round again
    first ??= id;
    if (reached.has(id)) continue;
    const ax = await nameOfFocused();
    reached.set(id, ax);
    // A control with no name of its own gets a generic one from the browser or the toolkit ("Text field"): as bad.
    if (!ax.name || GENERIC_NAMES.has(ax.name.toLowerCase())) unnamed.push(`${id.startsWith('other:') ? id : controls[Number(id)]} (role ${ax.role})`);
  }
  await cdp.detach().catch(() => {});
  const missed = controls.filter((_, i) => !reached.has(String(i)));
  log(`${label}: ${controls.length} controls, ${reached.size} reached by Tab, ${unnamed.length} without a name`);
  const problems = [];
  if (missed.length) problems.push(`not reachable with Tab: ${missed.join('; ')}`);
  if (unnamed.length) problems.push(`no accessible name: ${unnamed.join('; ')}`);
  if (problems.length) throw new Error(`${label}: ${problems.join(' | ')}`);
  return { controls: controls.length, reached: reached.size, names: [...reached.values()].map((x) => `${x.role} "${x.name}"`) };
}
