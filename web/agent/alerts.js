// Offer alerts: a short sound (Web Audio: two tones made in the page, no file to fetch) and a
// desktop notification (the Notification API, once the browser has the agent's permission), each
// switched by a labelled checkbox. The choice is remembered in localStorage (this browser, not
// a secret): an agent who turned the sound off does not get it back after a reload.
import { h } from '/lib/dom.js';

const KEY = 'parley-agent-alerts';

function load() {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) || '{}');
    return { sound: saved.sound === true, notify: saved.notify === true };
  } catch {
    return { sound: false, notify: false };
  }
}

function save(choice) {
  try {
    localStorage.setItem(KEY, JSON.stringify(choice));
  } catch {
    // storage refused (private mode): the switches still work for this page
  }
}

// Builds the switches into `container`; returns { offered(title, body) } to call on each offer.
export function createAlerts(container) {
  const choice = load();
  let audio = null;
  const note = h('p', { class: 'muted alert-note', role: 'status' });
  const sound = h('input', { type: 'checkbox', checked: choice.sound });
  const notify = h('input', { type: 'checkbox', checked: choice.notify });

  // The audio context starts on a click (browsers refuse sound a page plays on its own).
  const context = () => {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!audio) audio = new Ctx();
    if (audio.state === 'suspended') audio.resume().catch(() => {});
    return audio;
  };

  const beep = () => {
    const ctx = context();
    if (!ctx) return;
    const start = ctx.currentTime;
    for (const [at, freq] of [[0, 880], [0.22, 660]]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start + at);
      gain.gain.exponentialRampToValueAtTime(0.2, start + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + at + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + at);
      osc.stop(start + at + 0.2);
    }
  };

  const permissionText = () => {
    if (!('Notification' in window)) return 'This browser has no desktop notifications.';
    if (Notification.permission === 'denied')
      return 'The browser blocks notifications for this page; allow them in its site settings.';
    return '';
  };

  sound.addEventListener('change', () => {
    choice.sound = sound.checked;
    save(choice);
    if (sound.checked) context();
  });
  notify.addEventListener('change', async () => {
    note.textContent = '';
    if (notify.checked && 'Notification' in window && Notification.permission === 'default') {
      try {
        await Notification.requestPermission();
      } catch {
        // an old browser without the promise form: the permission stays as it was
      }
    }
    if (notify.checked && (!('Notification' in window) || Notification.permission !== 'granted')) {
      notify.checked = false;
      note.textContent = permissionText() || 'Notifications were not allowed.';
    }
    choice.notify = notify.checked;
    save(choice);
  });

  container.replaceChildren(
    h(
      'fieldset',
      { class: 'alerts' },
      h('legend', {}, 'Offer alerts'),
      h('label', { class: 'check' }, sound, 'Sound on offers'),
      h('label', { class: 'check' }, notify, 'Desktop notification on offers'),
      note,
    ),
  );

  return {
    offered(title, body) {
      if (choice.sound) beep();
      if (choice.notify && 'Notification' in window && Notification.permission === 'granted') {
        try {
          const n = new Notification(title, { body, tag: 'parley-offer' });
          n.onclick = () => {
            window.focus();
            n.close();
          };
        } catch {
          // some browsers allow notifications only from a service worker: the sound remains
        }
      }
    },
  };
}
