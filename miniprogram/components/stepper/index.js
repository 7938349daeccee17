/**
 * A quantity stepper that keeps quantities orderable: whole cases (`step` = 箱规) and at
 * least the minimum order (`min`). `allow-zero` lets − go from the minimum to 0 (remove
 * from the cart). Fires `change` with {value} only when the quantity really changes; the
 * parent owns the value (it sets `value` again from the server's answer).
 */

const { MAX_QUANTITY, orderableMin, normalise } = require('../lib/quantity');

Component({
  options: { addGlobalClass: true },
  properties: {
    value: { type: Number, value: 0 },
    min: { type: Number, value: 1 },
    step: { type: Number, value: 1 },
    max: { type: Number, value: MAX_QUANTITY },
    allowZero: { type: Boolean, value: false },
    disabled: { type: Boolean, value: false },
    unit: { type: String, value: '' },
  },
  data: { text: '0', canMinus: false, canPlus: true },
  observers: {
    'value, min, step, max, allowZero': function () {
      this.refresh();
    },
  },
  lifetimes: {
    attached() {
      this.refresh();
    },
  },
  methods: {
    limits() {
      const { min, step, max, allowZero } = this.data;
      return { min, step, max, allowZero };
    },
    refresh() {
      const { value, min, step, max, allowZero } = this.data;
      const low = orderableMin(min, step);
      this.setData({
        text: String(value),
        canMinus: allowZero ? value > 0 : value > low,
        canPlus: value + Math.max(1, step) <= Math.min(max, MAX_QUANTITY),
      });
    },
    emit(next) {
      if (next === this.data.value) {
        this.refresh();
        return;
      }
      this.triggerEvent('change', { value: next });
      // Show the parent's value until it accepts the change (and sets `value` again).
      this.refresh();
    },
    // A quantity that is not whole cases (a cart line from before the case size changed)
    // moves to the neighbouring whole case, so one tap always lands on an orderable quantity.
    onMinus() {
      if (this.data.disabled || !this.data.canMinus) return;
      const { value, step, min, allowZero } = this.data;
      const s = Math.max(1, step);
      const low = orderableMin(min, s);
      const next = Math.ceil(value / s) * s - s;
      this.emit(next < low ? (allowZero ? 0 : low) : next);
    },
    onPlus() {
      if (this.data.disabled || !this.data.canPlus) return;
      const { value, step, min } = this.data;
      const s = Math.max(1, step);
      const low = orderableMin(min, s);
      this.emit(value < low ? low : Math.floor(value / s) * s + s);
    },
    onInput(e) {
      this.setData({ text: e.detail.value });
    },
    onBlur(e) {
      if (this.data.disabled) return;
      const typed = e.detail && e.detail.value !== undefined ? e.detail.value : this.data.text;
      this.emit(normalise(typed, this.limits()));
    },
  },
});
