// The console: sign-in, the layout with its navigation, and a hash router. Later features add
// their pages to PAGES (and NAV); each page is a Preact component given the route's parameters.
import { h, render } from "preact";
import { useEffect, useState } from "preact/hooks";
import htm from "htm";
import { session, signIn, signOut } from "./api.js";
import { ROLE, isBrandRole } from "./format.js";
import { QueuePage } from "./pages/queue.js";
import { ComplaintPage } from "./pages/complaint.js";
import { MetricsPage } from "./pages/metrics.js";
import { LiveListPage, LivePanelPage } from "./pages/live.js";

const html = htm.bind(h);

// [pattern, component]: the route's captured groups reach the page as `params`.
const PAGES = [
  [/^\/complaints$/, QueuePage],
  [/^\/complaints\/(\d+)$/, ComplaintPage],
  [/^\/metrics$/, MetricsPage],
  [/^\/live$/, LiveListPage],
  [/^\/live\/(\d+)$/, LivePanelPage],
];
const NAV = [
  ["/complaints", "投诉队列"],
  ["/metrics", "处理指标"],
  ["/live", "直播订货会"],
];
const HOME = "/complaints";

function currentPath() {
  return window.location.hash.replace(/^#/, "").split("?")[0] || HOME;
}

function useRoute() {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const changed = () => setPath(currentPath());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return path;
}

function SignIn() {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    if (!username.trim() || !password) {
      setError("请输入账号和密码");
      return;
    }
    setBusy(true);
    setError("");
    try {
      const signedIn = await signIn(username.trim(), password);
      if (!signedIn.identity?.role || signedIn.identity.role.startsWith("store")) {
        await signOut();
        setError("该账号不是品牌或经销商员工，不能登录管理后台");
      }
    } catch (failure) {
      setError(failure.message);
    } finally {
      setBusy(false);
    }
  }

  return html`
    <main class="signin">
      <form class="card signin-card" onSubmit=${submit} aria-label="登录">
        <h1>b2bc 管理后台</h1>
        <p class="muted">品牌与经销商员工登录</p>
        <label>账号<input name="username" autocomplete="username" value=${username}
          onInput=${(e) => setUsername(e.target.value)} /></label>
        <label>密码<input name="password" type="password" autocomplete="current-password"
          value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button class="primary" type="submit" disabled=${busy}>${busy ? "登录中…" : "登录"}</button>
      </form>
    </main>`;
}

function Layout({ who, path, children }) {
  const membership = who.profile?.memberships?.find((m) => m.id === who.identity.membership_id);
  const scope = membership?.distributor?.name || membership?.brand?.name || "";
  return html`
    <div class="shell">
      <header class="topbar">
        <strong class="logo">b2bc 管理后台</strong>
        <span class="scope">${scope}</span>
        <span class="user" data-testid="current-user">
          ${who.profile?.display_name || who.profile?.username} · ${ROLE[who.identity.role] || who.identity.role}
        </span>
        <button class="link" onClick=${() => signOut()}>退出登录</button>
      </header>
      <nav class="sidebar" aria-label="导航">
        ${NAV.map(([target, label]) => {
          const active = path === target || path.startsWith(`${target}/`);
          return html`<a href=${`#${target}`} class=${active ? "active" : ""}>${label}</a>`;
        })}
      </nav>
      <main class="content">${children}</main>
    </div>`;
}

function App() {
  const [who, setWho] = useState(session.get());
  const path = useRoute();
  useEffect(() => session.subscribe(setWho), []);
  if (!who?.accessToken) return html`<${SignIn} />`;
  const match = PAGES.map(([pattern, Page]) => [pattern.exec(path), Page]).find(([m]) => m);
  const body = match
    ? html`<${match[1]} params=${match[0].slice(1)} who=${who} isBrand=${isBrandRole(who.identity.role)} />`
    : html`<p class="empty">页面不存在，<a href="#${HOME}">返回投诉队列</a></p>`;
  return html`<${Layout} who=${who} path=${path}>${body}<//>`;
}

const root = document.getElementById("app");
root.textContent = ""; // the loading text, which Preact would otherwise leave above the app
render(html`<${App} />`, root);
