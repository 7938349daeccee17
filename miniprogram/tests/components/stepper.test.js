const { fresh, flush } = require('../pages/support/harness');
const { normalise, orderableMin, nextQuantity } = require('../../components/lib/quantity');

let h;
beforeEach(() => {
  h = fresh();
});

function changes(stepper) {
  const seen = [];
  stepper.addEventListener('change', (e) => seen.push(e.detail.value));
  return seen;
}

test('whole cases and the minimum order', () => {
  expect(orderableMin(5, 6)).toBe(6);
  expect(orderableMin(13, 6)).toBe(18);
  expect(normalise('7', { min: 6, step: 6 })).toBe(12);
  expect(normalise('', { min: 6, step: 6 })).toBe(6);
  expect(normalise('0', { min: 6, step: 6, allowZero: true })).toBe(0);
  expect(normalise('999999', { min: 1, step: 4, max: 99999 })).toBe(99996);
  expect(nextQuantity(0, 2, 6)).toBe(6);
  expect(nextQuantity(6, 2, 6)).toBe(12);
});

test('+ and − move by a case; − from the minimum removes when allowed', async () => {
  const stepper = h.component('stepper', { value: 6, min: 6, step: 6, allowZero: true });
  const seen = changes(stepper);
  await flush();
  stepper.querySelector('.stepper-plus').dispatchEvent('tap');
  await flush();
  stepper.querySelector('.stepper-minus').dispatchEvent('tap');
  await flush();
  expect(seen).toEqual([12, 0]);
});

test('− stops at the minimum without allow-zero, and a typed quantity is rounded up to cases', async () => {
  const stepper = h.component('stepper', { value: 6, min: 6, step: 6 });
  const seen = changes(stepper);
  await flush();
  stepper.querySelector('.stepper-minus').dispatchEvent('tap');
  await flush();
  expect(seen).toEqual([]);
  stepper.querySelector('.stepper-input').dispatchEvent('blur', { detail: { value: '20' } });
  await flush();
  expect(seen).toEqual([24]);
});

test('a quantity off whole cases steps to the neighbouring case', async () => {
  const stepper = h.component('stepper', { value: 15, min: 10, step: 10, allowZero: true });
  const seen = changes(stepper);
  await flush();
  stepper.querySelector('.stepper-plus').dispatchEvent('tap');
  await flush();
  stepper.querySelector('.stepper-minus').dispatchEvent('tap');
  await flush();
  expect(seen).toEqual([20, 10]);
});

test('disabled does nothing', async () => {
  const stepper = h.component('stepper', { value: 6, min: 6, step: 6, disabled: true });
  const seen = changes(stepper);
  await flush();
  stepper.querySelector('.stepper-plus').dispatchEvent('tap');
  await flush();
  expect(seen).toEqual([]);
});
