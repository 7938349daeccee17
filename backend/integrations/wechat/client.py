"""The mini-program APIs we call, through wechatpy, against WeChat or the local sandbox.

wechatpy is synchronous (requests), so every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter, Retry
from wechatpy.client import WeChatClient
from wechatpy.exceptions import WeChatClientException

from backend.config import WechatSettings

HTTP_TIMEOUT_SECONDS = 5


class WechatApiError(Exception):
    """WeChat answered with an errcode (or could not be reached: errcode None)."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"wechat error {errcode}: {errmsg}")


@dataclass(frozen=True)
class WechatLogin:
    openid: str
    unionid: str | None


class _ConfigurableClient(WeChatClient):
    """wechatpy's client with every base URL, including the token URL, under one root."""

    def __init__(self, settings: WechatSettings, session: Any = None) -> None:
        super().__init__(
            settings.appid, settings.secret, session=session, timeout=HTTP_TIMEOUT_SECONDS
        )
        self.root = settings.api_base_url
        self.API_BASE_URL = f"{self.root}/cgi-bin/"
        self.wxa.API_BASE_URL = f"{self.root}/"

    def fetch_access_token(self) -> Any:
        return self._fetch_access_token(
            url=f"{self.root}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


# One retry when a kept-alive connection turns out closed by the server (it closed it while
# idle, just as we reused it): the request never reached it, so sending it again is safe,
# even for the one-time login and phone codes. Seen as a rare "微信服务暂时不可用" in tests.
_RETRY_DROPPED_CONNECTION = Retry(total=1, connect=1, read=1, status=0, allowed_methods=None)


class MiniProgramClient:
    def __init__(self, settings: WechatSettings, token_storage: Any = None) -> None:
        self.settings = settings
        self._client = _ConfigurableClient(settings, session=token_storage)
        adapter = HTTPAdapter(max_retries=_RETRY_DROPPED_CONNECTION)
        for scheme in ("http://", "https://"):
            self._client._http.mount(scheme, adapter)

    async def _call(self, fn: Any, *args: Any) -> Any:
        def run() -> Any:
            try:
                return fn(*args)
            except WeChatClientException as exc:
                raise WechatApiError(exc.errcode, str(exc.errmsg)) from exc
            except requests.RequestException as exc:
                raise WechatApiError(None, str(exc)) from exc

        return await asyncio.to_thread(run)

    async def code_to_session(self, code: str) -> WechatLogin:
        result = await self._call(self._client.wxa.code_to_session, code)
        return WechatLogin(openid=result["openid"], unionid=result.get("unionid"))

    async def phone_number(self, code: str) -> str:
        """The phone number a user chose to share (getPhoneNumber button), without country code."""
        result = await self._call(
            lambda: self._client.post(
                "wxa/business/getuserphonenumber",
                api_base_url=f"{self.settings.api_base_url}/",
                data={"code": code},
            )
        )
        return str(result["phone_info"]["purePhoneNumber"])

    async def text_check(self, content: str, openid: str, scene: int) -> str:
        """WeChat's content-security verdict on user text (msgSecCheck, version 2): pass,
        review or risky. `openid` is the author's; `scene` 1 profile, 2 comment, 3 forum,
        4 social log."""
        result = await self._call(
            lambda: self._client.post(
                "wxa/msg_sec_check",
                api_base_url=f"{self.settings.api_base_url}/",
                data={"content": content, "version": 2, "scene": scene, "openid": openid},
            )
        )
        return str(result["result"]["suggest"])

    async def send_subscribe_message(
        self, openid: str, template_id: str, data: dict[str, str], page: str
    ) -> None:
        """A subscribe message (订阅消息) to one user, spending one of the messages they
        allowed for that template in the mini-program. `data` maps the template's keywords
        (thing3, time4, ...) to their text; `page` is where tapping it opens."""
        await self._call(
            self._client.wxa.send_subscribe_message,
            openid,
            template_id,
            {key: {"value": value} for key, value in data.items()},
            page,
        )
