// Drives code-server in headless Chromium (playwright-core, /usr/bin/chromium) through the Claw
// extension the way a person would: Ask from the command palette, a Fix from the quick-fix menu, a
// cancelled run from the progress notification, reviews decided with the CodeLens over each hunk.
// Prints one JSON line with what it saw; exits 1 on failure. Run by tests/vscode/test_vscode_*.py,
// which start code-server and the fake model.
//
// env: CLAW_E2E_URL (code-server URL with ?folder=), CLAW_E2E_WORKSPACE, CLAW_E2E_SCREENSHOT,
//      PLAYWRIGHT_CORE (path of the playwright-core package), CHROMIUM (default /usr/bin/chromium),
//      CLAW_E2E_SCENARIO (main | untrusted | missing | serve), for serve: CLAW_E2E_ANSWERS,
//      CLAW_E2E_STOP, CLAW_E2E_DRIVER_FILE (where to write the port of the driver's own control channel)
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

const url = process.env.CLAW_E2E_URL;
const workspace = process.env.CLAW_E2E_WORKSPACE;
const screenshot = process.env.CLAW_E2E_SCREENSHOT;
const scenario = process.env.CLAW_E2E_SCENARIO || 'main';
const steps = [];
const result = { ok: false, steps, fixVia: null };

function step(name, extra = {}) {
  const entry = { name, t: Math.round(performance.now()), ...extra };
  steps.push(entry);
  console.error(`[drive] ${name}${Object.keys(extra).length ? ' ' + JSON.stringify(extra) : ''}`);
}

async function waitFor(what, fn, timeoutMs = 30_000, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) {
        return last;
      }
    } catch (error) {
      if (error.fatal) {
        throw error;
      }
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

const normalize = (s) => s.replace(/\u00a0/g, ' ');

async function editorText(page) {
  const text = await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().innerText();
  return normalize(text);
}

async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: 10_000 });
  await page.keyboard.press('Enter');
}

async function openFile(page, name) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(name);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  await page.locator('.tab.active', { hasText: name }).waitFor({ timeout: 10_000 });
  await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().waitFor();
  await page.locator('.editor-group-container.active .monaco-editor textarea').first().focus();
}

/** The text of the transcript webview (it lives in nested iframes). */
async function transcriptText(page) {
  for (const frame of page.frames()) {
    try {
      const log = frame.locator('#log');
      if ((await log.count()) === 1) {
        return normalize(await log.innerText());
      }
    } catch {
      // a frame that navigated away
    }
  }
  return '';
}

/** The main Claw status bar item (idle / running / …), not the pending review's. */
function mainStatusItem(page) {
  return page.locator('.statusbar-item', { hasText: 'Claw' }).filter({ hasNotText: 'Claw: review' }).first();
}

async function statusText(page) {
  const item = mainStatusItem(page);
  return (await item.count()) ? normalize(await item.innerText()).trim() : '';
}

/** The pending review's status bar item ("Claw: review N hunks"), '' when none shows. */
async function reviewStatusText(page) {
  const item = page.locator('.statusbar-item', { hasText: 'Claw: review' }).first();
  return (await item.count()) && (await item.isVisible()) ? normalize(await item.innerText()).trim() : '';
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The visible CodeLens rows (one per line) of the editors, optionally the one whose text has `label`. */
function lensRows(page, label) {
  const rows = page.locator('.monaco-editor .codelens-decoration:visible');
  return label ? rows.filter({ hasText: label }) : rows;
}

/** The CodeLens link whose whole text is `text`, in the row that has `label` (any row without one). */
function lensLink(page, text, label) {
  return lensRows(page, label).locator('a', { hasText: new RegExp(`^\\s*${escapeRe(text)}\\s*$`) }).first();
}

async function clickLens(page, text, label, timeoutMs = 20_000) {
  const link = lensLink(page, text, label);
  await link.waitFor({ state: 'visible', timeout: timeoutMs });
  const row = normalize(await link.locator('xpath=..').innerText());
  await link.click();
  return row;
}

/** The text of the quick input widget with its input's placeholder (the permission question shows the command there). */
async function quickInputText(page) {
  const widget = page.locator('.quick-input-widget');
  const text = normalize(await widget.innerText());
  const placeholder = await widget.locator('input').first().getAttribute('placeholder').catch(() => '');
  return placeholder ? `${text}\n${normalize(placeholder)}` : text;
}

/** Ask, Fix, Cancel, then review and permission in the `default` mode. */
async function mainScenario(page) {
  const idle = await waitFor('the Claw status bar item to say idle', async () => {
    const text = await statusText(page);
    if (/server failed|stopped/.test(text)) {
      throw Object.assign(new Error(`the status bar says: ${text}`), { fatal: true });
    }
    return /Claw: idle/.test(text) ? text : false;
  }, 60_000);
  step('server ready', { status: idle });
  result.statusIdle = idle;

  // 1. Ask from the command palette.
  await openFile(page, 'buggy.py');
  step('opened buggy.py');
  await runCommand(page, 'Claw: Ask…');
  const box = page.locator('.quick-input-widget input');
  await page.locator('.quick-input-widget', { hasText: 'Ask Claw' }).waitFor({ timeout: 10_000 });
  await box.fill('Fix the bug in average(): it divides by the wrong count.');
  await page.keyboard.press('Enter');
  step('asked');
  const fixed = await waitFor('the Ask edit to reach the editor', async () => {
    const text = await editorText(page);
    return text.includes('return sum(numbers) / len(numbers)') ? text : false;
  }, 60_000);
  result.askEditor = fixed;
  step('ask edit applied in the editor');
  const transcript1 = await waitFor('the transcript to show the finished Ask run', async () => {
    const text = await transcriptText(page);
    return text.includes('Fixed average') && text.includes('Run finished') ? text : false;
  }, 30_000);
  result.transcriptAfterAsk = transcript1;
  step('transcript shows the Ask run');

  // 2. Fix from the quick-fix menu (the lightbulb's menu) on a JSON syntax error.
  await openFile(page, 'config.json');
  step('opened config.json');
  await page.locator('.editor-group-container.active .squiggly-error').first().waitFor({ timeout: 30_000 });
  step('diagnostic shown');
  await page.keyboard.press('Control+G');
  await page.locator('.quick-input-widget input').waitFor({ state: 'visible' });
  await page.keyboard.type('3:3');
  await page.keyboard.press('Enter');
  let fixItem;
  for (let attempt = 0; attempt < 5 && !fixItem; attempt++) {
    await page.keyboard.press('Control+.');
    const item = page.locator('.action-widget .monaco-list-row', { hasText: 'Fix with Claw' }).first();
    try {
      await item.waitFor({ state: 'visible', timeout: 4_000 });
      fixItem = item;
    } catch {
      await page.keyboard.press('Escape');
      await page.waitForTimeout(1000);
    }
  }
  if (fixItem) {
    result.fixTitle = normalize(await fixItem.innerText());
    await fixItem.click();
    result.fixVia = 'quick fix menu';
  } else {
    step('no "Fix with Claw" in the quick-fix menu; using the palette command');
    await runCommand(page, 'Claw: Fix Problem…');
    result.fixVia = 'command palette';
  }
  step('fix started', { via: result.fixVia });
  result.fixEditor = await waitFor('the Fix edit to reach the editor', async () => {
    const text = await editorText(page);
    return text.includes('"name": "demo",') ? text : false;
  }, 60_000);
  step('fix edit applied in the editor');
  await waitFor('the squiggle to go away', async () =>
    (await page.locator('.editor-group-container.active .squiggly-error').count()) === 0, 20_000);
  step('diagnostic gone');
  result.transcriptAfterFix = await waitFor('the transcript to show the Fix run', async () => {
    const text = await transcriptText(page);
    return text.includes('Added the missing comma') ? text : false;
  }, 30_000);

  // 3. A slow run, cancelled from its progress notification.
  await runCommand(page, 'Claw: Ask…');
  await page.locator('.quick-input-widget', { hasText: 'Ask Claw' }).waitFor({ timeout: 10_000 });
  await box.fill('Explain this file slowly.');
  await page.keyboard.press('Enter');
  step('asked the slow run');
  await waitFor('the status bar to say running', async () => /running/.test(await statusText(page)), 20_000);
  const cancelButton = page.locator('.notifications-toasts .monaco-button', { hasText: 'Cancel' }).first();
  await cancelButton.waitFor({ state: 'visible', timeout: 20_000 });
  await page.screenshot({ path: screenshot.replace(/\.png$/, '-progress.png') });
  await cancelButton.click();
  step('clicked Cancel on the progress notification');
  result.transcriptAfterCancel = await waitFor('the transcript to show the cancelled run', async () => {
    const text = await transcriptText(page);
    const runs = text.split('Run finished').length - 1;
    return runs >= 3 && /cancel/i.test(text.slice(text.lastIndexOf('Run finished'))) ? text : false;
  }, 30_000);
  result.statusAfterCancel = await waitFor('the status bar to say idle again', async () => {
    const text = await statusText(page);
    return /Claw: idle/.test(text) ? text : false;
  }, 20_000);
  step('cancelled run finished');

  // 4. Switch to the `default` permission mode in the workspace settings: the server restarts; then a
  //    command is allowed from the permission quick pick and the edit accepted in the diff review.
  fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'claw.permissionMode': 'default' }));
  result.statusAfterRestart = await waitFor('the restarted server in the default mode', async () => {
    const text = await statusText(page);
    return /Claw: idle/.test(text) && !/acceptEdits/.test(text) ? text : false;
  }, 30_000);
  step('server restarted with the new mode', { status: result.statusAfterRestart });
  await openFile(page, 'greet.py');
  // `Ask Claw…` from the lightbulb: the server asks for the prompt with claw/input (an input box).
  await page.keyboard.press('Control+G');
  await page.locator('.quick-input-widget input').waitFor({ state: 'visible' });
  await page.keyboard.type('2:5');
  await page.keyboard.press('Enter');
  const askItem = page.locator('.action-widget .monaco-list-row', { hasText: 'Ask Claw' }).first();
  result.askAttempts = 0;
  for (let attempt = 0; attempt < 6; attempt++) {
    const bulb = page.locator('.editor-group-container.active .lightBulbWidget').first();
    try {
      await bulb.waitFor({ state: 'visible', timeout: 4_000 });
      await bulb.click();
      await askItem.waitFor({ state: 'visible', timeout: 4_000 });
      result.lightbulbItems = normalize(await page.locator('.action-widget').first().innerText());
      await askItem.click();
      result.askAttempts++;
      // The server answers with claw/input; a click lost while the menu re-rendered starts nothing.
      await box.waitFor({ state: 'visible', timeout: 6_000 });
      break;
    } catch {
      if (/running/.test(await statusText(page))) {
        break;
      }
      await page.keyboard.press('Escape');
      await page.locator('.editor-group-container.active .monaco-editor textarea').first().focus();
    }
  }
  result.askViaLightbulb = true;
  step('picked Ask Claw… from the lightbulb', { attempts: result.askAttempts });
  await box.waitFor({ state: 'visible', timeout: 15_000 });
  result.inputBoxText = normalize(await page.locator('.quick-input-widget').innerText());
  await box.fill('Fix greet().');
  await page.keyboard.press('Enter');
  step('answered claw/input', { box: result.inputBoxText.split('\n').slice(0, 2).join(' | ') });
  const widget = page.locator('.quick-input-widget');
  const answered = [];
  await waitFor('the permission and review prompts to be answered and the edit applied', async () => {
    if (await widget.isVisible()) {
      const text = await quickInputText(page);
      if (text.includes('Claw asks permission')) {
        result.permissionText ??= text;
        if (!answered.length) {
          await page.screenshot({ path: screenshot.replace(/\.png$/, '-permission.png') });
        }
        await widget.locator('.monaco-list-row', { hasText: 'Allow once' }).first().click();
        answered.push('permission');
        step('allowed once', { text: text.split('\n').slice(0, 3).join(' | ') });
        return false;
      }
    }
    if (!answered.includes('review') && (await lensLink(page, 'Accept all').count())) {
      // The inline review: the CodeLens over the hunk in greet.py's own editor.
      result.reviewStatus = await reviewStatusText(page);
      result.reviewTab = normalize(await page.locator('.tab.active').first().innerText()).replace(/\n/g, '');
      await page.screenshot({ path: screenshot.replace(/\.png$/, '-review.png') });
      result.reviewText = await clickLens(page, 'Accept all');
      answered.push('review');
      step('accepted the review', { tab: result.reviewTab, lens: result.reviewText });
      return false;
    }
    if (!answered.includes('review')) {
      return false;
    }
    await page.locator('.tab', { hasText: 'greet.py' }).first().click();
    const text = await editorText(page);
    return text.includes('+ name') ? text : false;
  }, 60_000, 400);
  result.greetEditor = await editorText(page);
  result.answered = answered;
  result.markerFile = fs.existsSync(path.join(workspace, 'made-by-claw.txt'));
  step('default-mode run done', { answered });
  await waitFor('the status bar to say idle', async () => /Claw: idle/.test(await statusText(page)), 20_000);

  // 5. Sessions, New Session and Status from the palette.
  await runCommand(page, 'Claw: Sessions…');
  await page.locator('.quick-input-widget', { hasText: 'resume a session' }).waitFor({ timeout: 10_000 });
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'messages' }).first().waitFor({ timeout: 10_000 });
  result.sessionsPick = normalize(await page.locator('.quick-input-widget .monaco-list-rows').first().innerText());
  await page.keyboard.press('Escape');
  result.transcriptFinal = await transcriptText(page);
  await runCommand(page, 'Claw: New Session');
  const toast = (hasText) => page.locator('.notifications-toasts .notification-toast', { hasText }).first();
  await toast('new session').waitFor({ timeout: 10_000 });
  result.newSessionToast = normalize(await toast('new session').innerText());
  await runCommand(page, 'Claw: Show Status');
  await toast('mode default').waitFor({ timeout: 10_000 });
  result.statusToast = normalize(await toast('mode default').innerText());
  step('sessions, new session and status shown');
  result.transcriptNewSession = await waitFor('New Session to leave a clean transcript', async () => {
    const text = await transcriptText(page);
    return text.includes('No runs yet') ? text : false;
  }, 10_000);
  await page.locator('.tab', { hasText: 'buggy.py' }).first().click();
  await page.screenshot({ path: screenshot });
  result.screenshot = screenshot;
  result.ok = true;
}

/** An untrusted workspace: the agent stays off and says why; trusting it starts the agent. */
async function untrustedScenario(page) {
  result.statusUntrusted = await waitFor('the status bar to say the agent is off', async () => {
    const text = await statusText(page);
    return /off \(untrusted workspace\)/.test(text) ? text : false;
  }, 60_000);
  step('agent off in the untrusted workspace', { status: result.statusUntrusted });
  await page.screenshot({ path: screenshot });
  await mainStatusItem(page).click();
  const trust = page.locator('.workspace-trust-editor .monaco-button', { hasText: /^Trust$/ }).first();
  await trust.waitFor({ state: 'visible', timeout: 20_000 });
  step('workspace trust editor opened from the status bar');
  await trust.click();
  result.statusTrusted = await waitFor('the agent to start once trusted', async () => {
    const text = await statusText(page);
    return /Claw: idle/.test(text) ? text : false;
  }, 60_000);
  step('agent started after trusting', { status: result.statusTrusted });
  result.screenshot = screenshot;
  result.ok = true;
}

/** The transcript webview's frame (the one holding #log), or undefined. */
async function transcriptFrame(page) {
  for (const frame of page.frames()) {
    try {
      if ((await frame.locator('#log').count()) === 1) {
        return frame;
      }
    } catch {
      // a frame that navigated away
    }
  }
  return undefined;
}

/** What the driver's control channel can be asked to do in the browser (serve mode). */
const ACTIONS = {
  /** Turn the automatic answers (reviews: Accept all; permissions: Allow once) on or off. */
  async auto(page, body, state) {
    Object.assign(state.auto, body);
    return state.auto;
  },
  /** The text of every visible CodeLens row. */
  async lenses(page) {
    return (await lensRows(page).allInnerTexts()).map(normalize);
  },
  /** Clicks the lens `text` in the row that has `label` (e.g. "hunk 1 of 2"). */
  async clickLens(page, body) {
    return { row: await clickLens(page, body.text, body.label, body.timeoutMs ?? 20_000) };
  },
  /** Waits for an input box whose prompt has `expect`, types `text`, presses Enter. */
  async answerInput(page, body) {
    const widget = page.locator('.quick-input-widget');
    await page.locator('.quick-input-widget', { hasText: body.expect }).waitFor({ state: 'visible', timeout: 15_000 });
    const shown = await quickInputText(page);
    await widget.locator('input').first().fill(body.text);
    await page.keyboard.press('Enter');
    await widget.waitFor({ state: 'hidden', timeout: 10_000 });
    return { shown };
  },
  /** Ctrl+P (Quick Open), types `text`, waits for a row with `expect`, then Escape: what a person does between two hunks. */
  async quickOpen(page, body) {
    const widget = page.locator('.quick-input-widget');
    await page.keyboard.press('Control+P');
    await widget.locator('input').first().waitFor({ state: 'visible' });
    await page.keyboard.type(body.text ?? '');
    if (body.expect) {
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: body.expect }).first().waitFor({ state: 'visible', timeout: 15_000 });
    }
    const shown = await quickInputText(page);
    await page.keyboard.press('Escape');
    await widget.waitFor({ state: 'hidden', timeout: 10_000 });
    return { shown };
  },
  /** Picks the row labelled exactly `label` in the quick pick that shows `expect`; returns what it showed. */
  async pickQuick(page, body) {
    const widget = page.locator('.quick-input-widget');
    await page.locator('.quick-input-widget', { hasText: body.expect }).waitFor({ state: 'visible', timeout: 30_000 });
    const shown = await quickInputText(page);
    const row = widget.locator('.monaco-list-row').filter({ hasText: new RegExp(`^\\s*${escapeRe(body.label)}\\s*$`) }).first();
    await row.click();
    await widget.waitFor({ state: 'hidden', timeout: 10_000 });
    return { shown };
  },
  /** Types `text` at the start of line `line` (1-based) of the active editor, as a person would. */
  async typeInEditor(page, body) {
    await page.keyboard.press('Control+G');
    await page.locator('.quick-input-widget input').first().waitFor({ state: 'visible' });
    await page.keyboard.type(String(body.line));
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
    await page.keyboard.press('Home');
    await page.keyboard.type(body.text);
    return {};
  },
  /**
   * In the open quick input (its title or prompt shows `expect`): types `type` key by key, then
   * presses `press` (e.g. Enter); waits for a row with `row` when given. Returns the input's value,
   * the rows shown and whether the widget is still open.
   */
  async quickInput(page, body) {
    const widget = page.locator('.quick-input-widget');
    await page.locator('.quick-input-widget', { hasText: body.expect }).waitFor({ state: 'visible', timeout: 15_000 });
    const input = widget.locator('input').first();
    if (body.type) {
      await input.pressSequentially(body.type, { delay: 20 });
    }
    if (body.press) {
      await page.keyboard.press(body.press);
    }
    if (body.row) {
      await widget.locator('.monaco-list-row', { hasText: body.row }).first().waitFor({ state: 'visible', timeout: 15_000 });
    }
    await page.waitForTimeout(300);
    const visible = await widget.isVisible();
    return {
      visible,
      value: visible ? await input.inputValue() : null,
      rows: visible ? (await widget.locator('.monaco-list-row').allInnerTexts()).map(normalize) : [],
    };
  },
  /** Runs a command from the palette by its title. */
  async palette(page, body) {
    await runCommand(page, body.title);
    return {};
  },
  async screenshot(page, body) {
    fs.mkdirSync(path.dirname(body.path), { recursive: true });
    await page.screenshot({ path: body.path });
    return { path: body.path };
  },
  /** The status bar: the main item and the pending review's item. */
  async status(page) {
    return { main: await statusText(page), review: await reviewStatusText(page) };
  },
  async clickStatus(page, body) {
    const item = page.locator('.statusbar-item', { hasText: body.text }).first();
    await item.waitFor({ state: 'visible', timeout: 10_000 });
    await item.click();
    return {};
  },
  /** The transcript's text (innerText: what shows), textContent (folded parts too) and HTML. */
  async transcript(page) {
    const frame = await transcriptFrame(page);
    if (!frame) {
      return { text: '', content: '', html: '', pending: '' };
    }
    const log = frame.locator('#log');
    return {
      text: normalize(await log.innerText()),
      content: normalize((await log.textContent()) ?? ''),
      html: await log.innerHTML(),
      pending: normalize(await frame.locator('#pending').innerText()),
    };
  },
  /**
   * In the transcript's follow-up input: empties it when `clear`, types `type` key by key, then
   * presses `press` (Tab, Enter, …). Returns the input's value and the slash-command rows shown under it (none when hidden).
   */
  async transcriptInput(page, body) {
    const frame = await waitFor('the transcript webview', () => transcriptFrame(page), 20_000);
    const input = frame.locator('#prompt');
    if (body.clear) {
      await input.fill('');
    }
    if (body.type) {
      await input.pressSequentially(body.type, { delay: 20 });
    }
    if (body.press) {
      await input.press(body.press);
    }
    await page.waitForTimeout(200);
    const menu = frame.locator('#commands');
    const hidden = await menu.evaluate((el) => el.hidden);
    return {
      value: await input.inputValue(),
      rows: hidden ? [] : (await menu.locator('li').allInnerTexts()).map(normalize),
      active: hidden ? null : normalize((await menu.locator('li.active').allInnerTexts())[0] ?? ''),
    };
  },
  /** Clicks an element of the transcript (a CSS selector inside its webview). */
  async clickTranscript(page, body) {
    const frame = await transcriptFrame(page);
    if (!frame) {
      throw new Error('no transcript webview');
    }
    await frame.locator(body.selector).first().click();
    return {};
  },
  /** The active editor group's tab and text (every editor in it: both sides of a diff). */
  async editor(page) {
    const group = page.locator('.editor-group-container.active');
    return {
      text: (await group.locator('.monaco-editor .view-lines').allInnerTexts()).map(normalize).join('\n'),
      tab: normalize(await group.locator('.tab.active').first().innerText()).replace(/\n/g, ''),
    };
  },
  /** Clicks the active editor's title-bar action whose label starts with `label`. */
  async clickEditorAction(page, body) {
    const action = page.locator(`.editor-group-container.active .editor-actions .action-label[aria-label^="${body.label}"]`).first();
    await action.waitFor({ state: 'visible', timeout: 10_000 });
    await action.click();
    return {};
  },
  /** Hovers the editor line that shows `text` and returns the hover's text. */
  async hoverLine(page, body) {
    const line = page.locator('.monaco-editor .view-lines .view-line:visible', { hasText: body.text }).first();
    await line.waitFor({ state: 'visible', timeout: 10_000 });
    const box = await line.boundingBox();
    await page.mouse.move(box.x + 20, box.y + box.height / 2);
    const hover = page.locator('.monaco-hover:visible', { hasText: body.expect ?? '' }).first();
    await hover.waitFor({ state: 'visible', timeout: 10_000 });
    // The hover's code block is laid out (line by line) a moment after the hover shows.
    const text = await waitFor('the hover to show its text', async () => {
      const shown = normalize(await hover.innerText());
      return !body.contains || shown.includes(body.contains) ? shown : false;
    }, 10_000);
    await page.mouse.move(0, 0);
    return { text };
  },
};

/** Answers what is open automatically (when on): a review with its "Accept all" lens, a permission with Allow once. */
async function autoAnswer(page, state, answersFile) {
  // Each answer is written to CLAW_E2E_ANSWERS as soon as it is clicked: the run it answers may
  // finish (and the test read the file) before the UI has settled.
  const record = (kind, text) => {
    const entry = { ...kind, text: text.slice(0, 2000), t: Math.round(performance.now()) };
    result.answered.push(entry);
    fs.appendFileSync(answersFile, JSON.stringify(entry) + '\n');
    step(`answered ${kind.kind}`);
  };
  const widget = page.locator('.quick-input-widget');
  if (state.auto.permissions && (await widget.isVisible())) {
    const text = await quickInputText(page);
    if (text.includes('Claw asks permission')) {
      await widget.locator('.monaco-list-row', { hasText: 'Allow once' }).first().click();
      record({ kind: 'permission' }, text);
      return;
    }
  }
  if (state.auto.reviews) {
    const acceptAll = lensLink(page, 'Accept all');
    if (await acceptAll.count()) {
      const tab = normalize(await page.locator('.tab.active').first().innerText()).replace(/\n/g, '');
      const row = acceptAll.locator('xpath=..');
      const text = normalize(await row.innerText());
      const id = await acceptAll.getAttribute('id');
      await acceptAll.click();
      record({ kind: 'review', tab, status: state.lastReviewStatus }, text);
      state.reviewSeen = 0;
      // The lens goes once the review is answered: never click a stale one twice.
      await page.locator(`[id="${id}"]`).waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
    } else if (await reviewStatusText(page)) {
      // A review is pending but its editor is not in view: its status bar item shows it.
      state.lastReviewStatus = await reviewStatusText(page);
      if (++state.reviewSeen >= 4) {
        await page.locator('.statusbar-item', { hasText: 'Claw: review' }).first().click();
        state.reviewSeen = 0;
      }
    }
  }
}

/**
 * `serve`: keep the workbench open for a test that drives runs through the extension's e2e control
 * channel (src/e2eHook.ts). Answers every review with its "Accept all" CodeLens and every permission
 * question with Allow once (until told otherwise), appending one JSON line per answer to
 * CLAW_E2E_ANSWERS. Its own control channel (127.0.0.1, port written to CLAW_E2E_DRIVER_FILE) takes
 * `POST /<action>` (see ACTIONS), run one at a time between the automatic answers. Stops once the
 * file CLAW_E2E_STOP exists.
 */
async function serveScenario(page) {
  const answersFile = process.env.CLAW_E2E_ANSWERS;
  const stopFile = process.env.CLAW_E2E_STOP;
  const state = { auto: { reviews: true, permissions: true }, reviewSeen: 0, lastReviewStatus: '' };
  const queue = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const name = (req.url ?? '/').replace(/^\//, '');
      let body = {};
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      } catch {
        body = {};
      }
      queue.push({ name, body, res });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const driverFile = process.env.CLAW_E2E_DRIVER_FILE;
  if (driverFile) {
    fs.writeFileSync(driverFile + '.tmp', String(server.address().port));
    fs.renameSync(driverFile + '.tmp', driverFile);
  }
  const idle = await waitFor('the Claw status bar item to say idle', async () => {
    const text = await statusText(page);
    if (/server failed|stopped/.test(text)) {
      throw Object.assign(new Error(`the status bar says: ${text}`), { fatal: true });
    }
    return /Claw: idle/.test(text) ? text : false;
  }, 90_000);
  step('server ready', { status: idle });
  result.answered = [];
  try {
    while (!fs.existsSync(stopFile)) {
      const job = queue.shift();
      if (job) {
        const action = ACTIONS[job.name];
        let status = 200;
        let answer;
        try {
          if (!action) {
            throw new Error(`unknown driver action ${job.name}`);
          }
          answer = await action(page, job.body, state);
          step(`action ${job.name}`, job.body);
        } catch (error) {
          status = 500;
          answer = { error: error instanceof Error ? error.message : String(error) };
          step(`action ${job.name} failed`, { error: answer.error.slice(0, 300) });
        }
        job.res.writeHead(status, { 'content-type': 'application/json' });
        job.res.end(JSON.stringify(answer ?? null));
        continue;
      }
      try {
        await autoAnswer(page, state, answersFile);
      } catch (error) {
        step('the UI changed while answering', { error: String(error).slice(0, 200) });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    server.close();
  }
  await page.screenshot({ path: screenshot });
  result.screenshot = screenshot;
  result.ok = true;
}

/** `missing`: no claw-lsp to start. One notification says how to install it; its button opens the setting. */
async function missingScenario(page) {
  result.statusMissing = await waitFor('the status bar to say the server failed', async () => {
    const text = await statusText(page);
    return /server failed/.test(text) ? text : false;
  }, 60_000);
  // CLAW_E2E_MISSING_TEXT: the notification's text (the platform .vsix without a usable Python says its own).
  const missingText = process.env.CLAW_E2E_MISSING_TEXT || 'claw-lsp server was not found';
  const ours = page.locator('.notifications-toasts .notification-toast', { hasText: missingText }).first();
  await ours.waitFor({ state: 'visible', timeout: 30_000 });
  // vscode-languageclient's own toast would have been shown before ours (it reports first).
  result.toasts = (await page.locator('.notifications-toasts .notification-toast').allInnerTexts()).map(normalize);
  result.toastText = normalize(await ours.innerText());
  await page.screenshot({ path: screenshot });
  await runCommand(page, 'Notifications: Show Notifications');
  const center = page.locator('.notifications-center');
  await center.waitFor({ state: 'visible', timeout: 10_000 });
  result.notifications = (await center.locator('.notification-list-item').allInnerTexts()).map(normalize);
  await page.keyboard.press('Escape');
  await ours.locator('.monaco-button', { hasText: 'Open Settings' }).first().click().catch(async () => {
    // The toast may have gone into the notification center: use its button there.
    await runCommand(page, 'Notifications: Show Notifications');
    await center.locator('.notification-list-item', { hasText: missingText })
      .locator('.monaco-button', { hasText: 'Open Settings' }).first().click();
  });
  const search = page.locator('.settings-editor .settings-header .monaco-editor .view-lines').first();
  await search.waitFor({ state: 'visible', timeout: 20_000 });
  result.settingsSearch = await waitFor('the settings editor to search claw.serverPath', async () => {
    const text = normalize(await search.innerText());
    return text.includes('claw.serverPath') ? text : false;
  }, 20_000);
  await page.locator('.settings-editor .setting-item-contents', { hasText: 'Server Path' }).first()
    .waitFor({ state: 'visible', timeout: 20_000 });
  result.settingShown = true;
  result.ok = true;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1500, height: 950 } });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  step('workbench loaded');
  const scenarios = { main: mainScenario, untrusted: untrustedScenario, missing: missingScenario, serve: serveScenario };
  await scenarios[scenario](page);
} catch (error) {
  result.error = error instanceof Error ? error.stack : String(error);
  if (page) {
    try {
      await page.screenshot({ path: screenshot.replace(/\.png$/, '-failure.png') });
      result.screenshot = screenshot.replace(/\.png$/, '-failure.png');
      result.transcriptAtFailure = await transcriptText(page);
      result.statusAtFailure = await statusText(page);
      result.editorAtFailure = await editorText(page).catch(() => '');
    } catch {
      // the page is gone
    }
  }
} finally {
  await browser.close();
}
result.workspace = workspace && path.basename(workspace);
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
