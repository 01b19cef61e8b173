// An exam's tamper-evident trail: recompute every attempt's event chain and the Merkle root
// now, show the first broken link (attempt and event), and the anchors beat keeps.

import { api } from '../api.js';
import { formatDateTime, h, notice, replace, table } from '../dom.js';
import { count, examTabs } from './common.js';

const REASONS = {
  altered: 'the event was changed after it was written',
  previous_missing_or_changed: 'the event before it was deleted or changed',
  unchained: 'an event without a hash was slipped in',
  anchored_event_missing_or_changed: 'an event the last anchor recorded is gone or changed',
};

function verdict(report) {
  if (report.ok) {
    const anchor = report.anchor ? 'the last anchor matches' : 'no anchor yet to compare with';
    return notice('ok', `Intact: ${count(report.events, 'event')} in ${count(report.chains, 'attempt chain')} recomputed; ${anchor}.`);
  }
  const first = report.first_broken;
  return notice('error', 'Tampered: ', first
    ? `attempt ${first.attempt_id}, event ${first.event_id ?? '—'} — ${REASONS[first.reason] || first.reason}.`
    : 'the last anchor no longer matches its own root.');
}

function brokenTable(report) {
  return table('Broken links', [
    ['Attempt', (b) => h('a', { href: `#/admin/exams/${report.examId}/roster`, text: b.attempt_id })],
    ['Event', (b) => String(b.event_id ?? '—')],
    ['What', (b) => REASONS[b.reason] || b.reason],
  ], report.broken || [], { empty: 'No broken link.' });
}

function anchorsTable(anchors) {
  return table('Anchors', [
    ['When', (a) => formatDateTime(a.created_at)],
    ['Root', (a) => h('code', { class: 'digest', text: a.root })],
    ['Chains', (a) => String(a.chains)],
    ['Events', (a) => String(a.events)],
  ], anchors, { empty: 'No anchor yet: beat makes one every few minutes while the exam is active.' });
}

export async function render(main, ctx) {
  const id = ctx.params[0];
  const [exam, report, anchors] = await Promise.all([
    api('GET', `/exams/${id}`),
    api('GET', `/exams/${id}/audit/verify`),
    api('GET', `/exams/${id}/audit/anchors`),
  ]);
  report.examId = id;
  ctx.setTitle(`Audit: ${exam.title}`);
  replace(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/admin/exams', text: 'Exams' })),
    h('h1', { text: `Audit: ${exam.title}` }),
    examTabs(id, 'audit'),
    h('div', { class: 'page-head' }, h('div', { role: 'status' }, verdict(report)),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', text: 'Verify again', onclick: () => ctx.reload() }))),
    h('p', {}, 'Root now: ', h('code', { class: 'digest', text: report.root })),
    h('section', { 'aria-labelledby': 'broken-heading' }, h('h2', { id: 'broken-heading', text: 'Broken links' }), brokenTable(report)),
    h('section', { 'aria-labelledby': 'anchors-heading' }, h('h2', { id: 'anchors-heading', text: 'Anchors' }),
      h('p', { class: 'muted small', text: 'Copy a root somewhere outside this system (an email, the minutes): a later rewrite of the trail then shows even if the database was rewritten too.' }),
      anchorsTable(anchors)));
}
