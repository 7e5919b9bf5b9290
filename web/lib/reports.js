// The Reports section of the manager (#reports) and of the wallboard (/supervisor#reports):
// yesterday's (or any span's) figures from GET /api/v1/reports/queues and /reports/agents, in a
// time zone (the browser's by default; days and hours are its local ones), as three charts — people waiting and
// answered per hour, service level per day, handle time per agent — each with a table that
// says the same, and CSV downloads. The charts are plain inline SVG built with DOM calls: no
// library to load, nothing inline for the Content-Security-Policy to refuse, and text reaches
// them as text nodes only (docs/pages.md says why).
import * as api from '/lib/api.js';
import { h, field, formatDuration, uniqueId } from '/lib/dom.js';

const SVG = 'http://www.w3.org/2000/svg';

// An SVG element with attributes; children as for h() (strings become text nodes).
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// The browser's IANA time zone; the names of plain UTC become "UTC".
function browserZone() {
  let zone = 'UTC';
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    // an old browser: UTC
  }
  return /^(Etc\/)?(UTC|UCT|GMT|Universal|Zulu|Greenwich)$/.test(zone) ? 'UTC' : zone;
}

// Formats in `zone`, or in UTC when the browser does not know it (the server checked it).
function formatter(zone, options) {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone: zone, ...options });
  } catch {
    return new Intl.DateTimeFormat('en-CA', { timeZone: 'UTC', ...options });
  }
}

// The date (YYYY-MM-DD) `offsetDays` from today in `zone`.
function localDay(zone, offsetDays) {
  return formatter(zone, { year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(Date.now() + offsetDays * 86400000));
}

const pct = (v) => (v === null || v === undefined ? '—' : `${Math.round(v * 1000) / 10} %`);
const secs = (v) => (v === null || v === undefined ? '—' : `${Math.round(v * 10) / 10} s`);
// A bucket's start (UTC, from the server) as the local hour and day of the report's zone.
const hourLabel = (zone, iso) => formatter(zone, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
const dayLabel = (zone, iso) => formatter(zone, { year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(iso));

// A bar chart: `series` [{name, cls, values}], `labels` one per bar group. Values are numbers
// (null draws nothing). `max` fixes the scale (e.g. 1 for shares).
function barChart({ title, labels, series, max, format }) {
  const titleId = uniqueId('chart');
  const width = 720;
  const height = 240;
  const left = 44;
  const bottom = 28;
  const top = 12;
  const plotW = width - left - 8;
  const plotH = height - top - bottom;
  const all = series.flatMap((x) => x.values).filter((v) => v !== null && v !== undefined);
  const scale = max ?? Math.max(1, ...all);
  const groupW = plotW / Math.max(1, labels.length);
  const barW = Math.max(1, (groupW * 0.8) / series.length);
  const y = (v) => top + plotH - (v / scale) * plotH;
  const bars = [];
  series.forEach((ser, si) => {
    ser.values.forEach((v, i) => {
      if (v === null || v === undefined || v === 0) return; // nothing to draw; the table has it
      const x = left + i * groupW + groupW * 0.1 + si * barW;
      bars.push(s('rect', { x, y: y(v), width: barW, height: Math.max(0, top + plotH - y(v)), class: `bar ${ser.cls}` },
        s('title', {}, `${ser.name}, ${labels[i]}: ${format(v)}`)));
    });
  });
  const ticks = [0, 0.5, 1].map((f) => {
    const v = scale * f;
    return s('g', {}, s('line', { x1: left, x2: width - 8, y1: y(v), y2: y(v), class: 'grid' }),
      s('text', { x: left - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, format(v)));
  });
  const every = Math.ceil(labels.length / 12);
  const xLabels = labels.map((l, i) => (i % every === 0
    ? s('text', { x: left + i * groupW + groupW / 2, y: height - 8, 'text-anchor': 'middle', class: 'axis' }, l)
    : null));
  return s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId, class: 'chart' },
    s('title', { id: titleId }, title), ticks, bars, xLabels);
}

function legend(series) {
  return h('ul', { class: 'legend' }, series.map((x) => h('li', {}, h('span', { class: ['swatch', x.cls], 'aria-hidden': 'true' }), x.name)));
}

function dataTable(caption, headers, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c))))))));
}

function chartCard(heading, chart, series, table) {
  const id = uniqueId('chart-h');
  return h('section', { class: 'card', 'aria-labelledby': id },
    h('h3', { id }, heading), chart, series ? legend(series) : null, table);
}

// Sums the intervals of the chosen queues, bucket by bucket.
function sumIntervals(queues, pick) {
  const out = [];
  for (const q of queues) {
    (q.intervals || []).forEach((b, i) => {
      if (!out[i]) out[i] = { start: b.start, offered: 0, answered: 0, abandoned: 0, in_sl: 0 };
      out[i].offered += b.offered;
      out[i].answered += b.answered;
      out[i].abandoned += b.abandoned;
      // service_level × (answered + abandoned) gives back the answered within it
      out[i].in_sl += b.service_level === null ? 0 : Math.round(b.service_level * (b.answered + b.abandoned));
    });
  }
  return out.map((b) => ({ ...b, service_level: b.answered + b.abandoned > 0 ? b.in_sl / (b.answered + b.abandoned) : null }))
    .filter((_, i) => pick(i));
}

export function reportsSection({ refresh }) {
  const zone = browserZone();
  const state = { from: localDay(zone, -1), to: localDay(zone, -1), zone, queue: '', hourly: null, daily: null, agents: null, loading: false };
  const rangeQuery = () => `from=${encodeURIComponent(state.from)}&to=${encodeURIComponent(state.to)}&time_zone=${encodeURIComponent(state.zone)}`;

  async function load() {
    const range = rangeQuery();
    state.loading = true;
    try {
      const [hourly, daily, agents] = await Promise.all([
        api.get(`/api/v1/reports/queues?${range}&interval=hour`).catch((e) => (e.code === 'invalid_report_range' && /hour/.test(e.message) ? { queues: [] } : Promise.reject(e))),
        api.get(`/api/v1/reports/queues?${range}&interval=day`),
        api.get(`/api/v1/reports/agents?${range}`),
      ]);
      Object.assign(state, { hourly, daily, agents });
    } finally {
      state.loading = false;
    }
  }

  async function download(kind) {
    const range = rangeQuery();
    const text = await api.getText(`/api/v1/reports/${kind}?${range}&interval=${kind === 'queues' ? 'hour' : 'day'}&format=csv`);
    const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
    const a = h('a', { href: url, download: `parley-${kind}-${state.from}-${state.to}.csv` });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function chosen(list) {
    return (list || []).filter((q) => !state.queue || q.queue === state.queue);
  }

  function render() {
    const from = h('input', { type: 'date', required: true, value: state.from });
    const to = h('input', { type: 'date', required: true, value: state.to });
    const zoneInput = h('input', { type: 'text', required: true, value: state.zone, autocomplete: 'off', spellcheck: 'false' });
    const names = [...new Set((state.daily?.queues || []).map((q) => q.queue))];
    const queue = h('select', {}, h('option', { value: '' }, 'All queues'), names.map((n) => h('option', { value: n, selected: n === state.queue }, n)));
    const error = h('p', { class: 'error-text', role: 'alert' });
    const form = h('form', {
      class: 'report-form',
      onsubmit: async (e) => {
        e.preventDefault();
        Object.assign(state, { from: from.value, to: to.value, zone: zoneInput.value.trim() || 'UTC', queue: queue.value });
        try {
          await load();
          refresh();
        } catch (err) {
          error.textContent = err.message;
        }
      },
    },
    field('From', from, 'A day of the time zone: the report starts at its midnight.'),
    field('To', to, 'A day of the time zone, included whole.'),
    field('Time zone', zoneInput, 'An IANA name such as Europe/London, or UTC: days and hours are its local ones.'),
    field('Queue', queue),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Show report'),
      h('button', { type: 'button', onclick: () => download('queues').catch((err) => { error.textContent = err.message; }) }, 'Download queues CSV'),
      h('button', { type: 'button', onclick: () => download('agents').catch((err) => { error.textContent = err.message; }) }, 'Download agents CSV')),
    error);

    const parts = [h('div', { class: 'section-head' }, h('h2', {}, 'Reports')), h('section', { class: 'card' }, form)];
    if (state.loading || !state.daily) {
      parts.push(h('p', { class: 'muted' }, state.loading ? 'Loading…' : 'Pick the days and press Show report.'));
      return h('div', {}, parts);
    }
    const hours = sumIntervals(chosen(state.hourly?.queues), () => true);
    const waitingSeries = [
      { name: 'Joined the queue', cls: 's1', values: hours.map((b) => b.offered) },
      { name: 'Answered', cls: 's2', values: hours.map((b) => b.answered) },
    ];
    const z = state.hourly?.time_zone || state.daily?.time_zone || state.zone;
    const hourLabels = hours.map((b) => `${dayLabel(z, b.start)} ${hourLabel(z, b.start)}`);
    parts.push(chartCard('Waiting and answered per hour',
      hours.length ? barChart({ title: `Customers who joined the queue and customers answered, per hour (${z})`, labels: hours.map((b) => hourLabel(z, b.start)), series: waitingSeries, format: (v) => String(Math.round(v)) }) : h('p', { class: 'empty' }, 'Hourly figures cover at most 31 days.'),
      waitingSeries,
      dataTable('Waiting and answered per hour (table)', [`Hour (${z})`, 'Joined the queue', 'Answered', 'Abandoned'],
        hours.filter((b) => b.offered || b.answered || b.abandoned).map((b, i) => [hourLabels[hours.indexOf(b)] ?? hourLabels[i], String(b.offered), String(b.answered), String(b.abandoned)]))));

    const days = sumIntervals(chosen(state.daily?.queues), () => true);
    const slSeries = [{ name: 'Service level', cls: 's3', values: days.map((b) => b.service_level) }];
    parts.push(chartCard('Service level per day',
      barChart({ title: 'Share of customers answered within the service level threshold, per day', labels: days.map((b) => dayLabel(z, b.start)), series: slSeries, max: 1, format: pct }),
      null,
      dataTable('Service level per day (table)', [`Day (${z})`, 'Service level', 'Answered', 'Abandoned'],
        days.map((b) => [dayLabel(z, b.start), pct(b.service_level), String(b.answered), String(b.abandoned)]))));

    const agents = (state.agents?.agents || []).filter((a) => a.totals.handled > 0);
    const away = (t) => {
      const reasons = Object.entries(t.away_by_reason || {}).map(([r, s]) => `${r} ${formatDuration(s)}`);
      return t.away_s ? `${formatDuration(t.away_s)}${reasons.length ? ` (${reasons.join(', ')})` : ''}` : '—';
    };
    const htSeries = [{ name: 'Average handle time', cls: 's2', values: agents.map((a) => a.totals.avg_handle_s) }];
    parts.push(chartCard('Handle time per agent',
      agents.length ? barChart({ title: 'Average handle time per agent, in seconds', labels: agents.map((a) => a.agent), series: htSeries, format: (v) => `${Math.round(v)} s` }) : h('p', { class: 'empty' }, 'No chat ended with an agent in these days.'),
      null,
      dataTable('Handle time per agent (table)', ['Agent', 'Chats handled', 'Average handle time', 'Transfers', 'Satisfaction', 'Time available', 'Time away'],
        agents.map((a) => [a.agent, String(a.totals.handled), secs(a.totals.avg_handle_s), String(a.totals.transfers), a.totals.csat_count ? `${a.totals.csat_avg} (${a.totals.csat_count})` : '—',
          a.totals.available_s ? formatDuration(a.totals.available_s) : '—', away(a.totals)]))));

    const totals = chosen(state.daily?.queues).map((q) => q.totals && [q.queue, String(q.totals.offered), String(q.totals.answered), String(q.totals.abandoned), String(q.totals.abandoned_10s), secs(q.totals.avg_wait_s), secs(q.totals.p90_wait_s), pct(q.totals.service_level), secs(q.totals.avg_handle_s), String(q.totals.transfers), q.totals.csat_count ? `${q.totals.csat_avg} (${q.totals.csat_count})` : '—']);
    parts.push(h('section', { class: 'card' }, h('h3', {}, 'Queues'),
      totals.length ? dataTable('Queue totals', ['Queue', 'Offered', 'Answered', 'Abandoned', 'Abandoned within 10 s', 'Average wait', '90th percentile wait', 'Service level', 'Average handle time', 'Transfers', 'Satisfaction'], totals)
        : h('p', { class: 'empty' }, 'Nothing happened in these days.')));
    return h('div', {}, parts);
  }

  return { load, render };
}
