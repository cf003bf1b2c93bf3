// A user in a real browser on the cluster's webmail (WebmailTest): Debian's chromium, driven
// by Playwright's library. Everything it is told comes from the environment:
//   WEBMAIL_URL, USER, PASSWORD, SEED_SUBJECT (a message already in USER's inbox),
//   TO, SEND_SUBJECT (the message to compose and send), SCREENSHOT (a PNG path).
// It prints one line per step ("step: ..."); on a failure, the step and the reason, exit 1.
const { chromium } = require('playwright-core');

const env = name => {
  const value = process.env[name];
  if (!value) throw new Error(name + ' is not set');
  return value;
};

async function login(page, user, password) {
  await page.goto(env('WEBMAIL_URL'));
  await page.fill('#rcmloginuser', user);
  await page.fill('#rcmloginpwd', password);
  await page.click('#rcmloginsubmit');
}

(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  const viewport = { viewport: { width: 1280, height: 800 } };
  let step = 'start';
  try {
    step = 'wrong password';
    let context = await browser.newContext(viewport);
    let page = await context.newPage();
    await login(page, env('USER'), env('PASSWORD') + '-wrong');
    const refusal = page.locator('#messagestack div[role=alert]');
    await refusal.waitFor({ timeout: 20000 });
    console.log('step: wrong password refused: ' + (await refusal.innerText()).trim());
    await context.close();

    step = 'login';
    context = await browser.newContext(viewport);
    page = await context.newPage();
    await login(page, env('USER'), env('PASSWORD'));
    await page.waitForURL(/_task=mail/, { timeout: 30000 });
    console.log('step: logged in');

    step = 'inbox';
    const row = page.locator('#messagelist tbody tr.message', { hasText: env('SEED_SUBJECT') }).first();
    await row.waitFor({ timeout: 30000 });
    await page.screenshot({ path: env('SCREENSHOT') });
    console.log('step: inbox lists the message');

    step = 'open';
    await row.dblclick();
    await page.waitForURL(/_action=show/, { timeout: 30000 });
    const body = page.locator('#messagebody');
    await body.waitFor({ timeout: 30000 });
    console.log('step: opened: ' + (await page.locator('#message-header h2.subject').innerText()).trim()
      + ' | ' + (await body.innerText()).trim().split('\n')[0]);

    step = 'compose';
    await page.goto(env('WEBMAIL_URL') + '?_task=mail&_action=compose');
    await page.locator('#compose-subject').waitFor({ timeout: 30000 });
    const to = page.locator('#compose_to ul.recipient-input input');
    await to.click();
    await to.pressSequentially(env('TO') + ',');
    await page.locator('#compose_to li.recipient', { hasText: env('TO') }).waitFor({ timeout: 10000 });
    await page.fill('#compose-subject', env('SEND_SUBJECT'));
    await page.fill('#composebody', 'Sent from the webmail in a real browser.\n');

    step = 'send';
    const [answer] = await Promise.all([
      page.waitForResponse(r => r.request().method() === 'POST' && r.url().includes('_framed=1'), { timeout: 60000 }),
      page.locator('#compose-content .formbuttons button.send').click(),
    ]);
    const text = await answer.text();
    if (!text.includes('sent_successfully')) {
      throw new Error('Roundcube did not confirm the sending: ' + text.replace(/\s+/g, ' ').slice(0, 500));
    }
    console.log('step: sent at ' + Date.now());
    await context.close();
  } catch (e) {
    console.log('failed at ' + step + ': ' + e.message);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
