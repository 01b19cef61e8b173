// Item analysis of one exam (over its graded attempts): the totals' summary and a score
// histogram, a table per question (facility, discrimination, point-biserial, option counts
// with the key marked), the .xlsx download, and the review flags (evidence, never penalties).

import { api } from '../api.js';
import { h, replace, table } from '../dom.js';
import { count, downloadButton, examTabs, typeLabel } from './common.js';

const SVG = 'http://www.w3.org/2000/svg';
const KIND_LABELS = {
  concurrent_devices: 'Two devices at once',
  fast_high_score: 'Fast high score',
  similar_answers: 'Similar wrong answers',
};

const fixed = (value, places = 2) => (value === null || value === undefined ? '—' : Number(value).toFixed(places));
const percent = (value) => (value === null || value === undefined ? '—' : `${Math.round(value * 100)} %`);

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

/** Attempts per tenth of the percentage score, as bars (inline SVG, no script or style). */
function histogram(bins) {
  const width = 420;
  const height = 160;
  const barWidth = width / bins.length;
  const most = Math.max(1, ...bins.map((b) => b.count));
  const label = bins.map((b) => `${b.from_percent}–${b.to_percent} %: ${b.count}`).join(', ');
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height + 34}`, role: 'img', class: 'histogram', 'aria-label': `Score histogram: ${label}` });
  bins.forEach((bin, i) => {
    const barHeight = (bin.count / most) * height;
    const x = i * barWidth;
    chart.append(
      svg('rect', { x: x + 3, y: height - barHeight, width: barWidth - 6, height: barHeight, fill: '#2f6fdb' },
        svg('title', {}, `${bin.from_percent}–${bin.to_percent} %: ${count(bin.count, 'attempt')}`)),
      svg('text', { x: x + barWidth / 2, y: height + 14, 'text-anchor': 'middle', 'font-size': 11, fill: '#444' }, String(bin.from_percent)),
      bin.count ? svg('text', { x: x + barWidth / 2, y: Math.max(12, height - barHeight - 4), 'text-anchor': 'middle', 'font-size': 11, fill: '#222' }, String(bin.count)) : '',
    );
  });
  chart.append(svg('text', { x: width / 2, y: height + 30, 'text-anchor': 'middle', 'font-size': 11, fill: '#444' }, 'percentage of the points'));
  return h('figure', { class: 'score-histogram' }, chart);
}

function summary(analysis) {
  const reliability = analysis.reliability === null
    ? '— (undefined: fewer than two attempts or questions, or every total the same)'
    : `${fixed(analysis.reliability)} (over ${count(analysis.reliability_items, 'question')})`;
  return h('dl', { class: 'facts' },
    h('dt', { text: 'Graded attempts' }), h('dd', { text: String(analysis.attempts) }),
    h('dt', { text: 'Mean score' }), h('dd', { text: fixed(analysis.mean) }),
    h('dt', { text: 'Median score' }), h('dd', { text: fixed(analysis.median) }),
    h('dt', { text: 'Standard deviation' }), h('dd', { text: fixed(analysis.stdev) }),
    h('dt', { text: "Reliability (Cronbach's alpha)" }), h('dd', { text: reliability }));
}

function options(question) {
  if (!question.options.length) return '—';
  return h('ul', { class: 'option-counts' }, question.options.map((o) => h('li', { class: o.correct ? 'key' : null },
    o.correct ? h('strong', { text: `${o.id} ✓` }) : h('span', { text: o.id }),
    `${o.text && o.text !== o.id ? ` (${o.text})` : ''}: ${o.chosen}`,
    o.correct ? h('span', { class: 'visually-hidden', text: ' (the key)' }) : null)),
  question.omitted ? h('li', { class: 'muted', text: `unanswered: ${question.omitted}` }) : null);
}

/** What deserves a look, in the usual rules of thumb (none is a verdict). */
function notes(q) {
  const found = [];
  if (q.discrimination !== null && q.discrimination < 0) found.push('Stronger students did worse: check the key.');
  else if (q.point_biserial !== null && q.point_biserial < 0.1) found.push('Barely related to the rest of the exam.');
  if (q.facility !== null && q.facility < 0.2) found.push('Very hard.');
  if (q.facility !== null && q.facility > 0.9) found.push('Very easy.');
  const unused = q.options.filter((o) => !o.correct && o.chosen === 0);
  if (q.attempts >= 10 && unused.length) found.push(`Nobody chose ${unused.map((o) => o.id).join(', ')}.`);
  return found.length ? h('span', { class: 'small', text: found.join(' ') }) : '—';
}

function questionsTable(questions) {
  return table('Question statistics', [
    ['#', (q) => String(q.position)],
    ['Question', (q) => h('span', {}, q.prompt, h('br'), h('span', { class: 'muted small', text: `${typeLabel(q.type)}, ${count(q.attempts, 'attempt')}${q.pending ? `, ${q.pending} to grade` : ''}` }))],
    ['Facility', (q) => percent(q.facility)],
    ['Discrimination', (q) => fixed(q.discrimination)],
    ['Point-biserial', (q) => fixed(q.point_biserial)],
    ['Options (chosen)', options],
    ['Notes', notes],
  ], questions, { empty: 'No graded attempt yet: the analysis appears once attempts are graded.' });
}

function flagsTable(flags) {
  return table('Flagged attempts', [
    ['Student', (f) => f.student_name],
    ['Flag', (f) => h('span', { class: 'pill pending', text: KIND_LABELS[f.kind] || f.kind })],
    ['Evidence', (f) => f.detail],
    ['Strength', (f) => fixed(f.score)],
  ], flags, { empty: 'No review flags for this exam.' });
}

export async function render(main, ctx) {
  const id = ctx.params[0];
  const [exam, analysis, flags] = await Promise.all([
    api('GET', `/exams/${id}`),
    api('GET', `/exams/${id}/item-analysis`),
    api('GET', `/exams/${id}/flags`),
  ]);
  ctx.setTitle(`Analysis: ${exam.title}`);
  const errors = h('div', { class: 'form-errors' });
  replace(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/admin/exams', text: 'Exams' })),
    h('h1', { text: `Analysis: ${exam.title}` }),
    examTabs(id, 'analysis'),
    h('div', { class: 'page-head' }, h('p', { class: 'summary', text: `${count(analysis.attempts, 'graded attempt')} analysed.` }),
      h('div', { class: 'actions' }, downloadButton('Item analysis (.xlsx)', `/exams/${id}/item-analysis.xlsx`, 'item-analysis.xlsx', errors))),
    errors,
    h('section', { 'aria-labelledby': 'summary-heading' }, h('h2', { id: 'summary-heading', text: 'Scores' }),
      summary(analysis), analysis.attempts ? histogram(analysis.histogram) : null),
    h('section', { 'aria-labelledby': 'questions-heading' }, h('h2', { id: 'questions-heading', text: 'Questions' }),
      h('p', { class: 'muted small', text: 'Facility: the share of the points awarded. Discrimination: facility among the top 27 % by total minus the bottom 27 %. Point-biserial: correlation with the rest of the exam (the question left out of the total).' }),
      questionsTable(analysis.questions)),
    h('section', { 'aria-labelledby': 'flags-heading' }, h('h2', { id: 'flags-heading', text: 'Review flags' }),
      h('p', { class: 'muted small', text: 'Reasons to look at an attempt, never proof: talk to the student before drawing conclusions.' }),
      flagsTable(flags)));
}
