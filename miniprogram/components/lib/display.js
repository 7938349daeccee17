/**
 * 陈列活动 as the store and its salesperson read it: the states of a check and of a signing,
 * the windows and the progress in words, a submission's reasons, and the refusals of signing
 * and submitting in Chinese. The views are the API's (backend/display: StoreProgramView,
 * SigningView, StoreCheck, SubmissionView); nothing here asks the server. In the main
 * package because packageDisplay (the store's pages) and packageSales (the salesperson's
 * first review) both use it, and a subpackage may not load another's files.
 */
const { formatFen } = require('../../utils/money');
const { formatShortTime, formatTime } = require('./format');
const { errorMessage } = require('./errors');

const SIGNING_STATUS = { active: '进行中', completed: '已完成', ended: '已结束' };

// The store's own check state (StoreCheck.state) and, for `open`, whether it was tried.
const CHECK_STATE = { upcoming: '未开始', open: '待拍照', review: '审核中', passed: '已通过', missed: '已错过' };
const RETRY_STATUSES = ['failed', 'rejected'];

// Said in our words whatever the server's message, since the page acts on them.
const SIGN_ERRORS = {
  'display.full': '名额已满，本活动已停止报名',
  'display.agreement_changed': '协议内容已更新，请重新阅读后再签署',
  'display.already_signed': '本店已签署过该活动，无需重复签署',
  'display.signup_closed': '报名已截止',
};
const SUBMIT_ERRORS = {
  'display.window_closed': '不在本次检查的拍照时间内',
  'display.already_submitted': '本次检查已提交，请勿重复提交',
  'display.photo_count': '照片数量不对，请按要求拍照',
  'display.photo_not_found': '有照片已失效，请删除后重新拍摄',
  'display.check_not_found': '没有找到这次检查',
};

/** An ApiError in Chinese: ours for the codes the page acts on, else the server's. */
function displayError(err, table) {
  if (err && table && table[err.code]) return table[err.code];
  return errorMessage(err);
}

function windowText(opensAt, closesAt) {
  const from = formatShortTime(opensAt);
  const until = formatShortTime(closesAt);
  return from && until ? `${from} 至 ${until}` : '';
}

function progressText(passed, count) {
  return `已通过 ${passed || 0}/${count || 0}`;
}

/** What the rewards received add up to: 积分 200 · 现金 ¥5.00 · 兑换券 2 张 ('' for none). */
function totalsText(totals) {
  const t = totals || {};
  const parts = [];
  if (t.points) parts.push(`积分 ${t.points}`);
  if (t.cash_fen) parts.push(`现金 ${formatFen(t.cash_fen)}`);
  if (t.vouchers) parts.push(`兑换券 ${t.vouchers} 张`);
  return parts.join(' · ');
}

/** The rewards a program promises, as lines: 每次检查通过 …, 全部完成 … */
function rewardLines(checkReward, completionReward) {
  const lines = [];
  if (checkReward && checkReward.text) lines.push({ key: 'check', label: '每次检查通过', text: checkReward.text });
  if (completionReward && completionReward.text) lines.push({ key: 'done', label: '全部检查通过', text: completionReward.text });
  return lines;
}

/** Reasons of a submission (automatic ones and a person's) as the store reads them. */
function reasonLines(submission) {
  if (!submission) return [];
  const lines = (submission.reasons || [])
    .filter((r) => r && r.message)
    .map((r, i) => ({ key: `r${i}`, text: r.message }));
  if (submission.status === 'rejected' && submission.review_reason) {
    lines.push({ key: 'review', text: `审核意见：${submission.review_reason}` });
  }
  return lines;
}

/** A StoreCheck as a row: its label, its state in words, what may be done. */
function presentCheck(check) {
  const submission = check.submission || null;
  const tried = Boolean(submission && RETRY_STATUSES.indexOf(submission.status) >= 0);
  let stateName = CHECK_STATE[check.state] || '';
  let tone = check.state;
  if (check.state === 'open' && tried) {
    stateName = '未通过';
    tone = 'failed';
  }
  // (An upcoming check says nothing more: its window above says when it opens.)
  let note = '';
  if (check.state === 'open') note = `截止 ${formatShortTime(check.closes_at)}`;
  else if (check.state === 'review' && submission && submission.first_review === 'approved') note = '业务员已初审，等待品牌审核';
  else if (check.state === 'passed' && submission && submission.reward) note = `奖励：${submission.reward.text}`;
  return {
    id: check.id,
    seq: check.seq,
    title: `第 ${check.seq} 次检查`,
    window: windowText(check.opens_at, check.closes_at),
    state: check.state,
    tone,
    stateName,
    note,
    canSubmit: Boolean(check.can_submit),
    takeText: tried ? '重新拍照' : '去拍照',
    reasons: tried || check.state === 'missed' ? reasonLines(submission) : [],
  };
}

/** The next check of a signing in one line (我的陈列). */
function nextCheckText(next) {
  if (!next) return '';
  if (next.state === 'open') return `第 ${next.seq} 次检查待拍照，截止 ${formatShortTime(next.closes_at)}`;
  if (next.state === 'upcoming') return `下次检查：${formatShortTime(next.opens_at)} 开始`;
  if (next.state === 'review') return `第 ${next.seq} 次检查审核中`;
  return '';
}

/** A SigningView as a row of 我的陈列. */
function presentSigning(s) {
  const next = s.next_check || null;
  return {
    id: s.id,
    name: (s.program && s.program.name) || '',
    status: s.status,
    statusName: SIGNING_STATUS[s.status] || '',
    progress: progressText(s.passed_checks, s.check_count),
    next: nextCheckText(next),
    due: Boolean(next && next.state === 'open' && next.can_submit),
    totals: totalsText(s.reward_totals),
    signedAt: formatTime(s.signed_at),
  };
}

/** A reward received (RewardView): what, for which check, when. */
function presentReward(r) {
  return {
    id: r.id,
    text: r.text,
    cause: r.check_seq ? `第 ${r.check_seq} 次检查通过` : '全部检查完成',
    at: formatTime(r.created_at),
  };
}

/** Sample photos as thumbnails; `urls` for wx.previewImage. */
function presentSamples(photos) {
  return (photos || []).filter((p) => p && p.url).map((p, i) => ({ key: `s${i}`, url: p.url }));
}

function previewImages(list, current) {
  const urls = list.map((p) => p.url || p.path).filter(Boolean);
  if (!urls.length) return;
  wx.previewImage({ urls, current: current || urls[0] });
}

/** 138****0000: the signer's phone on a document passed around. */
function maskPhone(phone) {
  const p = String(phone || '');
  return p.length === 11 ? `${p.slice(0, 3)}****${p.slice(7)}` : p;
}

function distanceText(metres) {
  if (metres === null || metres === undefined) return '';
  if (metres >= 1000) return `距门店约 ${(Math.round(metres / 100) / 10).toFixed(1)} 公里`;
  return `距门店约 ${metres} 米`;
}

module.exports = {
  SIGNING_STATUS,
  CHECK_STATE,
  SIGN_ERRORS,
  SUBMIT_ERRORS,
  displayError,
  windowText,
  progressText,
  totalsText,
  rewardLines,
  reasonLines,
  presentCheck,
  nextCheckText,
  presentSigning,
  presentReward,
  presentSamples,
  previewImages,
  maskPhone,
  distanceText,
};
