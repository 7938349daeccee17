/**
 * Pull to refresh: `onPullDownRefresh() { return endPullDown(this.reload()); }`. WeChat keeps
 * its spinner at the top until wx.stopPullDownRefresh(); it must stop whether the reload
 * worked or failed (a failure shows in the page's own error state), or the page stays pulled
 * down. The reload's failure is passed on, not swallowed.
 */
function endPullDown(work) {
  const stop = () => wx.stopPullDownRefresh();
  return Promise.resolve(work).then(
    (value) => {
      stop();
      return value;
    },
    (err) => {
      stop();
      throw err;
    },
  );
}

module.exports = { endPullDown };
