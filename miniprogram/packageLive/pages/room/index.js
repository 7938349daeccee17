/**
 * 直播间: one livestream order meeting (直播订货会), opened as /packageLive/pages/room/index?id=<session>.
 *
 * The room is utils/live-room.js: it joins on load and joins again after every
 * reconnection, and each join answers the whole state (title, status, the video's pull URL,
 * the product card with its name, picture and what is left, pinned message, viewers, likes,
 * the order ticker, the running red-packet rain and this store's packet, the coupon drops
 * open now with their coupons and this store's, and the draws announced or drawn with their
 * winners), which the page takes as it is: nothing is read over HTTP after a rejoin. Pushes
 * keep it current between joins. While the link is down the page says 重新连接中… and the
 * room comes back by itself.
 *
 * The video plays in <live-player> when the session has a stream URL and is on air (the
 * host may set it later: the `stream` push); otherwise the cover, or a placeholder, says
 * why there is no picture.
 *
 * The owner can: order the product on the card at its live price (POST
 * /live/sessions/<id>/orders, one Idempotency-Key per attempt, then pay); chat (the
 * server's refusals, such as 发言太快了, shown as they come); like (taps added up and sent
 * once a second); grab a red packet when a rain falls, and a coupon when one is dropped;
 * and follow the lottery draws, with the published record to check (the seed's hash before
 * the draw, the seed and winners after, recomputed on the phone).
 * GET /live/sessions/<id> is read once, on load: a session that cannot be read is shown as
 * an error before the room is joined, and it gives the cover.
 */
const api = require('../../../utils/api');
const config = require('../../../config');
const session = require('../../../utils/session');
const { joinRoom } = require('../../utils/live-room');
const { errorMessage, redirectIfSignedOut } = require('../../../components/lib/errors');
const { requireStore } = require('../../../components/lib/identity');
const { createAttempts } = require('../../../components/lib/attempt');
const { payOrder } = require('../../../components/lib/pay');
const { verifyRecord } = require('../../lib/draw-verify');
const live = require('../../lib/live');
const privacy = require('../../../components/lib/privacy');

const { formatFen } = live;

const CONNECTION_TEXT = {
  connecting: '正在进入直播间…',
  reconnecting: '重新连接中…',
  closed: '已离开直播间',
};

const PLAYER_TEXT = {
  reconnecting: '视频信号不稳定，正在重新连接…',
  failed: '视频暂时无法播放，商品与互动不受影响',
};

const RAIN_TEXT = {
  empty: '红包已被抢完',
  ended: '红包雨已结束',
  missed: '很遗憾，本轮未抢到红包',
};

function identity() {
  const found = session.currentIdentity() || {};
  return { userId: found.user_id || null, storeId: found.store_id || null };
}

Component({
  data: {
    status: 'loading', // loading | ready | error (the page); the room's link is `connection`
    errorMessage: '',
    connection: 'connecting',
    connectionText: CONNECTION_TEXT.connecting,
    title: '',
    cover: '',
    streamUrl: '',
    playerText: '',
    liveStatus: '',
    liveStatusText: '',
    viewers: '0',
    likes: 0,
    likesText: '0',
    orders: 0,
    gmvText: formatFen(0),
    pinned: '',
    card: null,
    quantity: 1,
    ordering: false,
    orderError: '',
    lastOrder: null,
    chats: [],
    lastChat: '',
    chatInput: '',
    chatSending: false,
    chatError: '',
    rain: null,
    rainView: '', // '' (no overlay) | falling | won | empty | ended | missed
    rainText: '',
    rainAmount: '',
    grabbing: false,
    drop: null,
    dropResult: '',
    dropError: '',
    grabbingCoupon: false,
    draw: null,
    record: null,
    recordStatus: '',
    recordMessage: '',
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      this.sessionId = Number((options || {}).id);
      this.me = identity();
      this.attempts = createAttempts();
      this.pendingLikes = 0;
      this.closedRainId = null;
      this.watchNetwork();
      return this.start();
    },
    onShow() {
      // Back from the background: a socket WeChat suspended is retried at once.
      this.reconnectNow();
    },
    onUnload() {
      this.stopLikes();
      this.leaveRoom();
      if (this.onNetwork && wx.offNetworkStatusChange) wx.offNetworkStatusChange(this.onNetwork);
    },
    reconnectNow() {
      if (this.room && this.room.client && typeof this.room.client.reconnectNow === 'function') {
        this.room.client.reconnectNow();
      }
    },
    /** The network came back (out of a lift, off the metro): reconnect now, not after the
     * backoff's wait. */
    watchNetwork() {
      if (this.onNetwork || !wx.onNetworkStatusChange) return;
      this.onNetwork = (status) => {
        if (status && status.isConnected) this.reconnectNow();
      };
      wx.onNetworkStatusChange(this.onNetwork);
    },
    onShareAppMessage() {
      return { title: this.data.title || '直播订货会', path: `/packageLive/pages/room/index?id=${this.sessionId}` };
    },

    // ---- the room ----------------------------------------------------------------------------

    async start() {
      if (!this.sessionId) {
        this.setData({ status: 'error', errorMessage: '找不到该直播' });
        return;
      }
      this.leaveRoom();
      this.setData({ status: 'loading', errorMessage: '' });
      const loaded = await this.loadDetail();
      if (!loaded) return;
      this.enterRoom();
    },
    onRetry() {
      return this.start();
    },

    /** The session itself, once: its title, cover and video (the room's state has the rest). */
    async loadDetail() {
      try {
        const detail = await api.get(`/live/sessions/${this.sessionId}`);
        const changes = { cover: detail.cover_url || '' };
        Object.assign(changes, this.titleChanges(detail.title));
        if (detail.stream_url !== undefined) Object.assign(changes, this.streamChanges(detail.stream_url));
        if (!this.data.liveStatus) Object.assign(changes, this.statusChanges(detail.status));
        this.setData(changes);
        return true;
      } catch (err) {
        if (redirectIfSignedOut(err)) return false;
        this.setData({ status: 'error', errorMessage: errorMessage(err) });
        return false;
      }
    },
    titleChanges(title) {
      if (!title || title === this.data.title) return {};
      wx.setNavigationBarTitle({ title });
      return { title };
    },
    streamChanges(url) {
      const streamUrl = url || '';
      return streamUrl === this.data.streamUrl ? {} : { streamUrl, playerText: '' };
    },

    enterRoom() {
      const room = joinRoom(this.sessionId);
      this.room = room;
      this.lastError = null;
      this.unsubscribe = [
        room.on('joined', (state) => this.onJoined(state)),
        room.on('connection', (status) => this.onConnection(room, status)),
        room.on('error', (error) => {
          this.lastError = error;
        }),
        room.on('viewers', (d) => this.setData({ viewers: live.countText(d.count) })),
        room.on('likes', (d) => this.showLikes(d.total)),
        room.on('chat', (m) => this.addChat(m)),
        room.on('session', (d) => this.setData(this.statusChanges(d.status))),
        room.on('stream', (d) => this.setData(this.streamChanges(d && d.stream_url))),
        room.on('product', (card) => this.showCard(card)),
        room.on('pinned', (p) => this.setData({ pinned: (p && p.text) || '' })),
        room.on('ticker', (t) => this.onTicker(t)),
        room.on('rain', (r) => this.onRain(r)),
        room.on('rain_result', (r) => this.onRainResult(r)),
        room.on('drop', (d) => this.onDrop(d)),
        room.on('drop_left', (d) => this.onDropLeft(d)),
        room.on('draw', (d) => this.onDraw(d)),
      ];
    },
    leaveRoom() {
      const room = this.room;
      this.room = null;
      (this.unsubscribe || []).forEach((off) => off());
      this.unsubscribe = [];
      if (room) room.leave();
    },

    onConnection(room, status) {
      if (room !== this.room) return;
      if (status === 'closed') {
        // Closed by the room itself: a refusal that another try would not change (not
        // invited, no such session) or a sign-in that ended.
        const error = this.lastError || { code: 'live.failed', message: '已离开直播间' };
        this.room = null;
        if (redirectIfSignedOut(error)) return;
        this.setData({ status: 'error', errorMessage: error.message || '进入直播间失败', connection: 'closed', connectionText: CONNECTION_TEXT.closed });
        return;
      }
      this.setData({ connection: status, connectionText: CONNECTION_TEXT[status] || '' });
    },

    /** A (re)join: the whole state, as the server has it now; nothing else is read. */
    onJoined(state) {
      const changes = Object.assign(this.statusChanges(state.status), {
        status: 'ready',
        viewers: live.countText(state.viewers),
        orders: state.orders || 0,
        gmvText: formatFen(state.gmv_fen || 0),
        pinned: (state.pinned && state.pinned.text) || '',
      });
      Object.assign(changes, this.titleChanges(state.title));
      if (state.stream_url !== undefined) Object.assign(changes, this.streamChanges(state.stream_url));
      this.setData(changes);
      this.showLikes(state.likes || 0);
      this.showCard(state.card);
      this.showRain(state.rain);
      if (state.drops) this.showDrop(live.runningDrop(state.drops));
      if (state.draws) this.showDraw(live.latestDraw(state.draws));
    },
    statusChanges(status) {
      return { liveStatus: status || '', liveStatusText: live.SESSION_STATUS[status] || '' };
    },

    // ---- the video -----------------------------------------------------------------------------

    /** <live-player> state codes: 2103 reconnecting, -2301 given up, 2004 playing. */
    onPlayerState(e) {
      const code = Number(e && e.detail && e.detail.code);
      if (code === 2103) this.setData({ playerText: PLAYER_TEXT.reconnecting });
      else if (code === -2301) this.setData({ playerText: PLAYER_TEXT.failed });
      else if (code === 2004 && this.data.playerText) this.setData({ playerText: '' });
    },
    onPlayerError() {
      this.setData({ playerText: PLAYER_TEXT.failed });
    },

    // ---- the product card and ordering -------------------------------------------------------

    showCard(card) {
      const shown = live.presentCard(card);
      const same = shown && this.data.card && this.data.card.productId === shown.productId;
      const quantity = same ? Math.max(this.data.quantity, shown.min) : (shown ? shown.min : 1);
      this.setData({ card: shown, quantity, orderError: same ? this.data.orderError : '' });
    },
    onTicker(t) {
      const changes = { orders: t.orders, gmvText: formatFen(t.gmv_fen) };
      if (this.data.card && this.data.card.productId === t.product_id) {
        changes['card.left'] = t.left;
        changes['card.soldOut'] = t.left < this.data.card.min;
      }
      this.setData(changes);
    },
    onQuantity(e) {
      this.setData({ quantity: e.detail.value, orderError: '' });
    },
    onOrder() {
      const { card, quantity, liveStatus } = this.data;
      if (!card || card.soldOut || liveStatus !== 'live') return Promise.resolve();
      return api.withButtonLock(this, 'ordering', async () => {
        this.setData({ orderError: '' });
        const body = { product_id: card.productId, quantity };
        const key = this.attempts.keyFor(JSON.stringify(body));
        let placed;
        try {
          placed = await api.post(`/live/sessions/${this.sessionId}/orders`, body, { idempotencyKey: key });
          this.attempts.done();
        } catch (err) {
          this.attempts.failed(err);
          if (redirectIfSignedOut(err)) return;
          this.setData({ orderError: errorMessage(err) });
          return;
        }
        const order = { id: placed.id, orderNo: placed.order_no, payableText: formatFen(placed.payable_fen), state: 'paying', note: '' };
        this.setData({ lastOrder: order });
        const paid = await payOrder(placed.id);
        if (paid.error && redirectIfSignedOut(paid.error)) return;
        const notes = { paid: '支付成功，经销商将尽快发货', cancelled: paid.message, failed: paid.message };
        this.setData({ 'lastOrder.state': paid.state, 'lastOrder.note': notes[paid.state] || '' });
      });
    },
    onViewOrder() {
      if (this.data.lastOrder) wx.navigateTo({ url: `/pages/order/index?id=${this.data.lastOrder.id}` });
    },
    onCloseOrder() {
      this.setData({ lastOrder: null });
    },

    // ---- chat and likes ------------------------------------------------------------------------

    addChat(message) {
      if (!message || !message.text) return;
      this.chatCount = (this.chatCount || 0) + 1;
      const chat = live.presentChat(message, this.chatCount, this.me.userId);
      const { chats } = this.data;
      const { chatKept, chatTrimEvery } = live.settings;
      if (chats.length < chatKept + chatTrimEvery) {
        this.setData({ [`chats[${chats.length}]`]: chat, lastChat: `chat-${chats.length}` });
        return;
      }
      const kept = chats.slice(-(chatKept - 1)).concat([chat]);
      this.setData({ chats: kept, lastChat: `chat-${kept.length - 1}` });
    },
    onChatInput(e) {
      this.setData({ chatInput: e.detail.value, chatError: '' });
    },
    onSend() {
      const text = this.data.chatInput.trim();
      if (!text || !this.room) return Promise.resolve();
      return api.withButtonLock(this, 'chatSending', async () => {
        const ack = await this.room.chat(text);
        if (ack && ack.ok) this.setData({ chatInput: '', chatError: '' });
        else this.setData({ chatError: (ack && ack.error && ack.error.message) || '发送失败，请稍后重试' });
      });
    },
    showLikes(total) {
      this.setData({ likes: total + this.pendingLikes, likesText: live.countText(total + this.pendingLikes) });
    },
    onLike() {
      if (!this.room || this.data.liveStatus !== 'live') return;
      this.pendingLikes += 1;
      const likes = this.data.likes + 1;
      this.setData({ likes, likesText: live.countText(likes) });
      if (!this.likeTimer) this.likeTimer = setInterval(() => this.flushLikes(), live.settings.likeFlushMs);
    },
    /** Send the taps added up since the last time (at most 50 in one event). */
    async flushLikes() {
      if (this.flushing) return;
      if (!this.pendingLikes || !this.room) {
        this.stopLikes();
        return;
      }
      const count = Math.min(this.pendingLikes, live.settings.maxLikesPerEvent);
      this.pendingLikes -= count;
      this.flushing = true;
      try {
        const ack = await this.room.like(count);
        // Not connected: keep the taps for the next try; other refusals drop them.
        if (!ack.ok && ack.error && ack.error.code === 'realtime.disconnected') this.pendingLikes += count;
      } finally {
        this.flushing = false;
      }
    },
    stopLikes() {
      if (this.likeTimer) clearInterval(this.likeTimer);
      this.likeTimer = null;
    },

    // ---- red-packet rain ---------------------------------------------------------------------

    showRain(rain) {
      if (!rain || rain.status !== 'running') {
        // A rain that ended while we were away: its result already told the room.
        if (this.data.rainView === 'falling') this.setData({ rainView: '', rain: null });
        return;
      }
      const changes = { rain: live.presentRain(rain) };
      if (rain.mine) {
        changes.rainAmount = formatFen(rain.mine.amount_fen);
        if (this.closedRainId !== rain.id) changes.rainView = 'won';
      } else if (this.closedRainId !== rain.id && this.data.rainView !== 'empty') {
        changes.rainView = 'falling';
        changes.rainText = '';
      }
      this.setData(changes);
    },
    onRain(rain) {
      if (rain && rain.status === 'running') this.showRain(rain);
    },
    onRainResult(result) {
      if (!this.data.rain || !result || result.id !== this.data.rain.id) return;
      const changes = { 'rain.status': 'ended' };
      if (this.data.rainView === 'falling') {
        changes.rainView = 'missed';
        changes.rainText = RAIN_TEXT.missed;
      }
      this.setData(changes);
    },
    onGrab() {
      const { rain, rainView } = this.data;
      if (!rain || rainView !== 'falling' || !this.room) return Promise.resolve();
      return api.withButtonLock(this, 'grabbing', async () => {
        const ack = await this.room.grab(rain.id);
        if (ack && ack.ok) {
          this.setData({ rainView: 'won', rainAmount: formatFen(ack.data.amount_fen), rainText: '' });
          return;
        }
        const error = (ack && ack.error) || {};
        if (error.code === 'live.rain_empty') this.setData({ rainView: 'empty', rainText: RAIN_TEXT.empty });
        else if (error.code === 'live.rain_not_running') this.setData({ rainView: 'ended', rainText: RAIN_TEXT.ended });
        else this.setData({ rainText: error.message || '没抢到，再试一次' }); // still falling: tap again
      });
    },
    onCloseRain() {
      this.closedRainId = this.data.rain ? this.data.rain.id : null;
      this.setData({ rainView: '' });
    },

    // ---- coupon drops ------------------------------------------------------------------------

    onDrop(drop) {
      const shown = live.presentDrop(drop);
      if (!shown) return;
      if (shown.status === 'running') {
        const same = this.data.drop && this.data.drop.id === shown.id;
        this.setData({ drop: shown, dropResult: same ? this.data.dropResult : '', dropError: '' });
      } else if (this.data.drop && this.data.drop.id === shown.id) {
        this.setData({ drop: null });
      }
    },
    /** The open drop of a (re)join, with this store's coupon from it; none: it ended. */
    showDrop(drop) {
      const shown = live.presentDrop(drop);
      if (!shown) {
        if (this.data.drop) this.setData({ drop: null, dropResult: '', dropError: '' });
        return;
      }
      const same = this.data.drop && this.data.drop.id === shown.id;
      let dropResult = same ? this.data.dropResult : '';
      if (shown.mine && !dropResult) dropResult = '您已抢到过这张券';
      this.setData({ drop: shown, dropResult, dropError: same ? this.data.dropError : '' });
    },
    onDropLeft(d) {
      if (this.data.drop && this.data.drop.id === d.id) this.setData({ 'drop.left': d.left });
    },
    onGrabCoupon() {
      const { drop } = this.data;
      if (!drop || !this.room || this.data.dropResult) return Promise.resolve();
      return api.withButtonLock(this, 'grabbingCoupon', async () => {
        const ack = await this.room.grabCoupon(drop.id);
        if (ack && ack.ok) {
          const changes = { dropResult: ack.data.again ? '您已抢到过这张券' : '抢到了！已放入券包', dropError: '' };
          // The answer carries no version: what is left of a drop only goes down, so a
          // smaller figure pushed meanwhile (a newer one) stays.
          if (typeof ack.data.left === 'number' && this.data.drop) {
            changes['drop.left'] = Math.min(ack.data.left, this.data.drop.left);
          }
          this.setData(changes);
        } else {
          const error = (ack && ack.error) || {};
          const changes = { dropError: error.message || '没抢到，请稍后重试' };
          if (error.code === 'live.drop_empty') changes['drop.left'] = 0;
          this.setData(changes);
        }
      });
    },
    onOpenWallet() {
      wx.navigateTo({ url: '/pages/coupons/index' });
    },
    onCloseDrop() {
      this.setData({ drop: null });
    },

    // ---- lottery draws -----------------------------------------------------------------------

    onDraw(draw) {
      const shown = live.presentDraw(draw, this.me.storeId);
      if (!shown) return;
      this.setData({ draw: shown, record: null, recordStatus: '' });
      if (shown.status === 'drawn' && shown.myPrize) {
        wx.showToast({ title: `恭喜中奖：${shown.myPrize}`, icon: 'none', duration: 3000 });
      }
    },
    /** The newest draw of a (re)join, if it is newer or has moved on from the one shown. */
    showDraw(draw) {
      const shown = live.presentDraw(draw, this.me.storeId);
      const current = this.data.draw;
      if (!shown || (current && (shown.id < current.id || (shown.id === current.id && shown.status === current.status)))) return;
      this.setData({ draw: shown, record: null, recordStatus: '' });
    },
    recordPath() {
      return `/live/sessions/${this.sessionId}/draws/${this.data.draw.id}`;
    },
    onCopyRecord() {
      if (!this.data.draw) return;
      wx.setClipboardData({
        data: this.data.draw.recordUrl || `${config.apiBase()}${config.API_PREFIX}${this.recordPath()}`,
        fail: (res) => privacy.explainDenied(res),
      });
    },
    async onOpenRecord() {
      if (!this.data.draw) return;
      this.setData({ recordStatus: 'loading', recordMessage: '' });
      try {
        const record = await api.get(this.recordPath());
        const checked = verifyRecord(record);
        this.setData({
          recordStatus: 'ready',
          record: {
            algorithm: record.algorithm || '',
            seedHash: record.seed_hash || '',
            seed: record.seed || '',
            eligibleCount: (record.eligible || []).length,
            drawn: Boolean(record.seed),
            hashOk: checked.hashOk,
            winnersOk: checked.winnersOk,
          },
        });
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        this.setData({ recordStatus: 'error', recordMessage: errorMessage(err) });
      }
    },
    onCloseRecord() {
      this.setData({ recordStatus: '', record: null });
    },
    noop() {},
  },
});
