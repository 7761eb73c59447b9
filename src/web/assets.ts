import { createHash } from 'node:crypto';

/** The page's only style sheet, inline; allowed by its hash in the Content-Security-Policy. */
export const STYLE = `
:root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--text:#16181d;--muted:#5b616b;--line:#e2e5e9;--accent:#1d4ed8;
--accent-hover:#1e40af;--code:#f5f6f8;--ok-bg:#ecfdf3;--ok:#05603a;--warn-bg:#fffaeb;--warn:#7a4d05;--bad-bg:#fef3f2;--bad:#b42318}
@media (prefers-color-scheme:dark){:root{--bg:#0f1115;--card:#171a20;--text:#e7e9ec;--muted:#9aa1ab;--line:#2a2f37;
--accent:#6d9bf7;--accent-hover:#8fb3fa;--code:#1f232a;--ok-bg:#0d2a1c;--ok:#75e0a7;--warn-bg:#2b2110;--warn:#f5c86b;
--bad-bg:#2d1512;--bad:#f97066}}
*{box-sizing:border-box}
html,body{margin:0;background:var(--bg);color:var(--text)}
body{font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:700px;margin:40px auto;padding:0 16px}
.brand{display:flex;align-items:center;gap:8px;color:var(--muted);font-size:14px;font-weight:600;margin:0 0 14px 4px}
.brand svg{width:18px;height:18px}
.card{background:var(--card);border:1px solid var(--line);border-radius:14px;padding:32px;box-shadow:0 1px 2px rgba(16,24,40,.05)}
h1{font-size:24px;line-height:1.3;margin:0 0 6px}
h2{font-size:17px;margin:28px 0 10px;padding-top:20px;border-top:1px solid var(--line)}
h3{font-size:14px;margin:18px 0 6px;color:var(--muted);font-weight:600}
p{margin:0 0 12px}
.lead{color:var(--muted);margin-bottom:20px}
.muted{color:var(--muted)}
.small{font-size:14px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:8px 20px;margin:0 0 22px;padding:16px 18px;
background:var(--code);border-radius:10px}
dl.facts dt{color:var(--muted);font-size:14px}
dl.facts dd{margin:0;overflow-wrap:anywhere}
code,pre,.value{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:14px}
.notice{border-radius:10px;padding:12px 14px;margin:0 0 20px;font-size:15px}
.notice.warn{background:var(--warn-bg);color:var(--warn)}
.notice.ok{background:var(--ok-bg);color:var(--ok)}
.notice.bad{background:var(--bad-bg);color:var(--bad)}
button{font:inherit;cursor:pointer;border-radius:8px}
button.primary{background:var(--accent);color:#fff;border:0;padding:12px 22px;font-weight:600;font-size:16px}
button.primary:hover{background:var(--accent-hover)}
button.primary:disabled{opacity:.6;cursor:progress}
button.copy{background:var(--card);color:var(--text);border:1px solid var(--line);padding:4px 12px;font-size:13px;
white-space:nowrap}
button.copy:hover{border-color:var(--muted)}
.field{margin:0 0 14px}
.field .label{display:block;font-size:13px;color:var(--muted);margin-bottom:4px}
.row{display:flex;align-items:center;gap:10px}
.value{flex:1;min-width:0;background:var(--code);border:1px solid var(--line);border-radius:8px;padding:9px 12px;
overflow-wrap:anywhere;user-select:all}
pre{background:var(--code);border:1px solid var(--line);border-radius:8px;padding:12px 14px;margin:0;overflow-x:auto;
white-space:pre}
.block{position:relative}
.block button.copy{position:absolute;top:8px;right:8px}
ol{padding-left:22px;margin:0}
ol li{margin:4px 0}
a{color:var(--accent)}
form{margin:0 0 16px}
.foot{color:var(--muted);font-size:13px;text-align:center;margin:18px 0}
`;

/**
 * The page's only script, inline; allowed by its hash. Copy buttons, Download .csv (the console's file, from what the
 * page shows), local times, and a Reveal button that disables itself once pressed (a second submission would replace the credentials with "already opened").
 */
export const SCRIPT = `
(function () {
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  document.addEventListener('click', function (event) {
    var button = event.target.closest ? event.target.closest('button[data-copy]') : null;
    if (!button) return;
    var el = document.getElementById(button.getAttribute('data-copy'));
    if (!el) return;
    var shown = function (label) {
      button.textContent = label;
      setTimeout(function () { button.textContent = 'Copy'; }, 2000);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(el.textContent).then(
        function () { shown('Copied'); },
        function () { select(el); shown('Press Ctrl+C'); }
      );
    } else {
      select(el);
      shown('Press Ctrl+C');
    }
  });
  // Download .csv: built here from the fields this page shows (nothing is fetched again: the stored secret is gone),
  // in the IAM console's own columns. A cell with a comma, a quote or a line break is quoted (RFC 4180).
  function cell(v) { return /[",\\r\\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }
  document.addEventListener('click', function (event) {
    var button = event.target.closest ? event.target.closest('button[data-download]') : null;
    if (!button) return;
    var values = button.getAttribute('data-fields').split(',').map(function (id) {
      var el = document.getElementById(id);
      return el ? el.textContent : '';
    });
    var csv = button.getAttribute('data-header') + '\\r\\n' + values.map(cell).join(',') + '\\r\\n';
    var url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    var a = document.createElement('a');
    a.href = url;
    a.download = button.getAttribute('data-download');
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  });
  document.querySelectorAll('time[data-local]').forEach(function (t) {
    var d = new Date(t.getAttribute('datetime'));
    if (isNaN(d)) return;
    t.textContent = d.toLocaleString(undefined, {
      day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short'
    });
  });
  document.querySelectorAll('form[data-once]').forEach(function (form) {
    form.addEventListener('submit', function () {
      var button = form.querySelector('button[type=submit]');
      if (button) setTimeout(function () { button.disabled = true; button.textContent = 'Revealing…'; }, 0);
    });
  });
})();
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * The Content-Security-Policy of every response: nothing may load from anywhere; the inline style and script run
 * only because their hashes are listed; forms post only to this origin; no framing, no <base>.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src ${sha256(STYLE)}`,
  `script-src ${sha256(SCRIPT)}`,
  'img-src data:',
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Headers on every response of the credential page, errors included. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'x-robots-tag': 'noindex, nofollow',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};
