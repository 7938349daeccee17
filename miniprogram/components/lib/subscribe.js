/**
 * WeChat subscribe messages (订阅消息): the platform's templates come from
 * GET /notifications/subscriptions ({kind, template_id, title, remaining}); the user is asked
 * with wx.requestSubscribeMessage and the answer is reported to
 * POST /notifications/subscriptions ({accepted, rejected}): each accept lets the server send
 * one more message of that template.
 *
 * wx.requestSubscribeMessage only works when called from a tap, so pages load the
 * templates early (`loadTemplates` in onLoad) and call `ask` first thing in the tap handler.
 */
const api = require('../../utils/api');

// display: the reminder before a display check closes (issue 19's `display_reminder`);
// reorder: a product the store buys regularly is due again (issue 21's `reorder_reminder`).
const KINDS = {
  complaint: 'complaint.update',
  live: 'live.reminder',
  display: 'display_reminder',
  reorder: 'reorder_reminder',
};

/** {kind: {templateId, title, remaining}}; {} when they cannot be read (asking is optional). */
async function loadTemplates() {
  try {
    const answer = await api.get('/notifications/subscriptions');
    const found = {};
    (answer.items || []).forEach((t) => {
      if (t.template_id) found[t.kind] = { templateId: t.template_id, title: t.title || '', remaining: t.remaining || 0 };
    });
    return found;
  } catch (err) {
    return {};
  }
}

function request(ids) {
  return new Promise((resolve) => {
    if (!ids.length || typeof wx.requestSubscribeMessage !== 'function') {
      resolve(null);
      return;
    }
    try {
      wx.requestSubscribeMessage({
        tmplIds: ids,
        success: (res) => resolve(res || {}),
        fail: () => resolve(null), // closed, or the user turned messages off: not an error
      });
    } catch (e) {
      resolve(null);
    }
  });
}

/**
 * Ask for the given template ids (call it synchronously from the tap) and report the answer.
 * Resolves to {accepted: [...], rejected: [...]} (both empty when nothing was asked); never
 * rejects: a reminder is a nicety and must not stop what the user was doing.
 */
async function ask(templateIds) {
  const ids = (templateIds || []).filter(Boolean);
  const answer = await request(ids);
  const result = { accepted: [], rejected: [] };
  if (!answer) return result;
  ids.forEach((id) => {
    if (answer[id] === 'accept') result.accepted.push(id);
    else if (answer[id] === 'reject' || answer[id] === 'ban') result.rejected.push(id);
  });
  if (result.accepted.length || result.rejected.length) {
    try {
      await api.post('/notifications/subscriptions', result);
    } catch (err) {
      // WeChat keeps the user's grant; the server only learns of it next time.
    }
  }
  return result;
}

module.exports = { KINDS, loadTemplates, ask };
