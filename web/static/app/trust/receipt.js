// Submission receipts in the client: the receipt card of the result page (digest and a
// download of the signed JSON), and the page where anyone checks a receipt they hold.

import { ApiError, api } from '../api.js';
import { h, notice, replace, messageOf } from '../dom.js';

const REASONS = {
  malformed: 'This is not a complete receipt: a field is missing or is not text.',
  bad_signature: 'The signature does not match. The receipt was forged, or made with another key.',
  altered_field: 'Someone changed the receipt after it was signed.',
  unknown_attempt: 'The signature is genuine, but this system has no such submitted attempt.',
  superseded: 'The attempt was reopened and submitted again after this receipt: ask for the newer one.',
  answers_changed: 'The stored answers no longer match the ones this receipt was signed for. Tell your school.',
};

/** Save a receipt as a JSON file, the shape the checker and `flask verify-receipt` read. */
function saveFile(receipt) {
  const blob = new Blob([`${JSON.stringify(receipt, null, 2)}\n`], { type: 'application/json' });
  const link = h('a', { href: URL.createObjectURL(blob), download: `receipt-${receipt.attempt_id}.json` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
}

/** The result page's receipt card; nothing while the attempt is not submitted yet. */
export async function receiptCard(attemptId) {
  let receipt;
  try {
    receipt = await api('GET', `/attempts/${attemptId}/receipt`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) return null;
    return notice('error', `The submission receipt could not be loaded: ${messageOf(err)}`);
  }
  return h('section', { class: 'card receipt', 'aria-labelledby': 'receipt-title' },
    h('h2', { id: 'receipt-title', text: 'Submission receipt' }),
    h('p', { class: 'muted', text: 'Proof of what you submitted and when, signed by the exam system. Keep the file: anyone can check it.' }),
    h('dl', {},
      h('dt', { text: 'Submitted at' }), h('dd', { text: receipt.submitted_at }),
      h('dt', { text: 'Answers digest (SHA-256)' }), h('dd', { class: 'digest', text: receipt.answers_sha256 })),
    h('p', {},
      h('button', { type: 'button', class: 'secondary', text: 'Download receipt', onclick: () => saveFile(receipt) }),
      ' ', h('a', { href: '#/receipts/verify', text: 'Check a receipt' })));
}

function verdictView(verdict) {
  if (verdict.valid) return notice('ok', 'Genuine: this receipt was signed by the exam system and the stored answers still match it.');
  const extra = verdict.fields?.length ? ` (${verdict.fields.join(', ')})` : '';
  return notice('error', `Not valid${extra}: ${REASONS[verdict.reason] || verdict.detail}`);
}

/** The checker: paste or upload a receipt; the server says whether it holds. */
export async function render(main, ctx) {
  ctx.setTitle('Check a receipt');
  const text = h('textarea', { id: 'receipt-json', rows: 9, spellcheck: 'false', 'aria-describedby': 'receipt-hint' });
  const file = h('input', { type: 'file', id: 'receipt-file', accept: 'application/json,.json' });
  const result = h('div', { class: 'verdict', 'aria-live': 'polite' }); // the notice has its role
  const key = h('p', { class: 'muted' });
  file.addEventListener('change', async () => {
    if (file.files[0]) text.value = await file.files[0].text();
  });
  async function check(event) {
    event.preventDefault();
    let receipt;
    try {
      receipt = JSON.parse(text.value);
    } catch {
      replace(result, notice('error', 'This is not JSON. Paste the whole receipt file, braces included.'));
      return;
    }
    try {
      replace(result, verdictView(await api('POST', '/receipts/verify', { body: receipt, auth: false })));
    } catch (err) {
      replace(result, notice('error', err instanceof ApiError && err.status === 422
        ? 'This is not a receipt: it lacks a field or has one too many.' : messageOf(err)));
    }
  }
  replace(main, h('h1', { text: 'Check a submission receipt' }),
    h('form', { onsubmit: check },
      h('p', { id: 'receipt-hint', text: 'Paste a receipt, or choose the file you downloaded from your result page. The check never shows any answers.' }),
      h('label', { for: 'receipt-file', text: 'Receipt file' }), file,
      h('label', { for: 'receipt-json', text: 'Receipt' }), text,
      h('p', {}, h('button', { type: 'submit', text: 'Check' }))),
    result, h('h2', { text: 'Checking it yourself' }), key);
  api('GET', '/receipts/public-key', { auth: false }).then((k) => {
    replace(key, `The signing key (${k.algorithm}, base64): `, h('code', { class: 'digest', text: k.public_key }),
      '. The signature covers attempt_id|submitted_at|answers_sha256.');
  }).catch(() => {});
}
