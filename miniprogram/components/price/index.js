/**
 * An amount of money, from integer fen: `<price fen="{{123456}}" />` shows ¥1,234.56.
 * `strike-fen` adds a struck-through former price (shown only when it differs);
 * `prefix` goes before the amount (e.g. "-" for a reduction); `size`: small | normal | large.
 */
const { formatFen } = require('../../utils/money');

function text(fen) {
  return typeof fen === 'number' ? formatFen(fen) : '';
}

Component({
  options: { addGlobalClass: true },
  properties: {
    fen: { type: null, value: null },
    strikeFen: { type: null, value: null },
    prefix: { type: String, value: '' },
    size: { type: String, value: 'normal' },
    muted: { type: Boolean, value: false },
  },
  data: { text: '', strikeText: '' },
  observers: {
    'fen, strikeFen': function (fen, strikeFen) {
      const shown = text(fen);
      const former = typeof strikeFen === 'number' && strikeFen !== fen ? text(strikeFen) : '';
      this.setData({ text: shown, strikeText: former });
    },
  },
  lifetimes: {
    attached() {
      // Observers fire only on a change; render the initial values too.
      const { fen, strikeFen } = this.data;
      const former = typeof strikeFen === 'number' && strikeFen !== fen ? text(strikeFen) : '';
      this.setData({ text: text(fen), strikeText: former });
    },
  },
});
