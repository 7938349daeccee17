const { fresh, flush, texts } = require('../pages/support/harness');

let h;
beforeEach(() => {
  h = fresh();
});

test('newest first, in China time, with who did it', async () => {
  const timeline = h.component('order-timeline', {
    events: [
      { from_status: null, to_status: 'pending_payment', actor_role: 'store_owner', note: '', at: '2026-01-05T06:30:00+00:00' },
      { from_status: 'pending_payment', to_status: 'paid', actor_role: '', note: '', at: '2026-01-05T06:31:00+00:00' },
      { from_status: 'accepted', to_status: 'shipped', actor_role: 'distributor_staff', note: '顺丰 SF123', at: '2026-01-05T16:10:00+00:00' },
    ],
  });
  await flush();
  expect(texts(timeline, '.tl-title')).toEqual([
    '经销商已发货（经销商）',
    '支付成功',
    '提交订单（门店）',
  ]);
  expect(texts(timeline, '.tl-note')).toEqual(['顺丰 SF123']);
  expect(texts(timeline, '.tl-time')).toEqual(['2026-01-06 00:10', '2026-01-05 14:31', '2026-01-05 14:30']);
});
