// Drives code-server in headless Chromium (playwright-core, /usr/bin/chromium) through the Claw
// extension the way a person would: Ask from the command palette, a Fix from the quick-fix menu, a
// cancelled run from the progress notification. Prints one JSON line with what it saw; exits 1 on
// failure. Run by tests/vscode/test_vscode_e2e.py, which starts code-server and the fake model.
//
// env: CLAW_E2E_URL (code-server URL with ?folder=), CLAW_E2E_WORKSPACE, CLAW_E2E_SCREENSHOT,
//      PLAYWRIGHT_CORE (path of the playwright-core package), CHROMIUM (default /usr/bin/chromium),
//      CLAW_E2E_SCENARIO (main | untrusted | serve), for serve: CLAW_E2E_ANSWERS, CLAW_E2E_STOP
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
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

async function statusText(page) {
  const item = page.locator('.statusbar-item', { hasText: 'Claw' }).first();
  return (await item.count()) ? normalize(await item.innerText()) : '';
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
      const text = normalize(await widget.innerText());
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
      if (text.includes('Reject with feedback')) {
        result.reviewText = text;
        await page.locator('.editor-group-container.active .monaco-diff-editor').first().waitFor({ timeout: 10_000 });
        result.reviewTab = normalize(await page.locator('.tab.active').first().innerText());
        await page.screenshot({ path: screenshot.replace(/\.png$/, '-review.png') });
        await widget.locator('.monaco-list-row', { hasText: 'Accept' }).first().click();
        answered.push('review');
        step('accepted the review', { tab: result.reviewTab });
        return false;
      }
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
  await runCommand(page, 'Claw: New Session');
  const toast = (hasText) => page.locator('.notifications-toasts .notification-toast', { hasText }).first();
  await toast('new session').waitFor({ timeout: 10_000 });
  result.newSessionToast = normalize(await toast('new session').innerText());
  await runCommand(page, 'Claw: Show Status');
  await toast('mode default').waitFor({ timeout: 10_000 });
  result.statusToast = normalize(await toast('mode default').innerText());
  step('sessions, new session and status shown');
  result.transcriptFinal = await transcriptText(page);
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
  await page.locator('.statusbar-item', { hasText: 'Claw' }).first().click();
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

/**
 * `serve`: keep the workbench open for a test that drives runs through the extension's e2e control
 * channel (src/e2eHook.ts). Answers every diff review with Accept and every permission question with
 * Allow once, through the real quick pick, appending one JSON line per answer to CLAW_E2E_ANSWERS;
 * stops once the file CLAW_E2E_STOP exists.
 */
async function serveScenario(page) {
  const answersFile = process.env.CLAW_E2E_ANSWERS;
  const stopFile = process.env.CLAW_E2E_STOP;
  const idle = await waitFor('the Claw status bar item to say idle', async () => {
    const text = await statusText(page);
    if (/server failed|stopped/.test(text)) {
      throw Object.assign(new Error(`the status bar says: ${text}`), { fatal: true });
    }
    return /Claw: idle/.test(text) ? text : false;
  }, 90_000);
  step('server ready', { status: idle });
  result.answered = [];
  const widget = page.locator('.quick-input-widget');
  while (!fs.existsSync(stopFile)) {
    try {
      if (await widget.isVisible()) {
        const text = normalize(await widget.innerText());
        let kind;
        if (text.includes('Reject with feedback')) {
          await page.locator('.editor-group-container.active .monaco-diff-editor').first().waitFor({ timeout: 10_000 });
          const tab = normalize(await page.locator('.tab.active').first().innerText());
          await widget.locator('.monaco-list-row', { hasText: 'Accept' }).first().click();
          kind = { kind: 'review', tab };
        } else if (text.includes('Claw asks permission')) {
          await widget.locator('.monaco-list-row', { hasText: 'Allow once' }).first().click();
          kind = { kind: 'permission' };
        }
        if (kind) {
          const entry = { ...kind, text: text.slice(0, 2000), t: Math.round(performance.now()) };
          result.answered.push(entry);
          fs.appendFileSync(answersFile, JSON.stringify(entry) + '\n');
          step(`answered ${kind.kind}`);
        }
      }
    } catch (error) {
      step('quick pick changed while answering', { error: String(error).slice(0, 200) });
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  await page.screenshot({ path: screenshot });
  result.screenshot = screenshot;
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
  const scenarios = { main: mainScenario, untrusted: untrustedScenario, serve: serveScenario };
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
