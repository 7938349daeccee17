// What every test of the salesperson's pages (packageSales) starts from: a signed-in
// salesperson, a page opened with its API answers, and the check that a store owner who lands
// on such a page is sent back to sign in without a request.
const { flush } = require('./harness');
const { route } = require('./api-mock');
const { signInAsStore } = require('./fixtures');

function signInAsSalesperson() {
  signInAsStore({ identity: { user_id: 9, role: 'salesperson', membership_id: 21, brand_id: 1, distributor_id: 2, store_id: null, salesperson_id: 4 } });
}

/** Opens `path` as the salesperson, `routes` answering its API calls. */
async function openAsSalesperson(h, api, path, routes) {
  signInAsSalesperson();
  route(api, routes);
  const page = h.page(path);
  await page.instance.onLoad({});
  await flush();
  return page;
}

/** Declares the test that a store owner opening `path` is sent to the sign-in page. */
function sendsStoreOwnersToSignIn(path, harness) {
  test('a store owner is sent back to the sign-in page', async () => {
    const { h, api } = harness();
    signInAsStore();
    route(api, {});
    const page = h.page(path);
    await page.instance.onLoad({});
    expect(h.wx.reLaunch).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/login/index' }));
    expect(api.get).not.toHaveBeenCalled();
  });
}

module.exports = { signInAsSalesperson, openAsSalesperson, sendsStoreOwnersToSignIn };
