"""Who judges whether a submission's photos show the display the program asks for, after the
measurable checks passed: a person by default (DeferToPerson), or a brand's own image service
over HTTP (HttpRecogniser, set with B2BC_DISPLAY_RECOGNISER_URL).

A recogniser never fails a request: an image service that is slow, down or answers nonsense
sends the submission to a person, with a reason saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from backend.config import Settings
from backend.display.verdict import FAILED, PASSED, REVIEW, VERDICTS, RecogniserResult
from backend.infra.logging import get_logger

log = get_logger("display.recognisers")

# How long a brand's image service may take over one submission. The store waits for the
# answer in the mini-program, so a slow service sends the submission to a person instead.
HTTP_TIMEOUT_SECONDS = 8.0
MAX_MESSAGE_LENGTH = 200  # what a reason shows; longer answers are cut


@dataclass(frozen=True, slots=True)
class RecognisedPhoto:
    id: int
    url: str
    width: int
    height: int
    taken_at: str  # ISO 8601


@dataclass(frozen=True, slots=True)
class Submitted:
    """What a recogniser is shown: the photos, and the signed terms' standard and products."""

    brand_id: int
    program_id: int
    store_id: int
    check_seq: int
    photos: Sequence[RecognisedPhoto]
    standard: str
    skus: Sequence[dict[str, Any]]  # [{"id", "name"}] as the signing's terms list them


class Recogniser(Protocol):
    async def judge(self, submitted: Submitted) -> RecogniserResult:
        """passed, review or failed, with a message in Chinese; never raises."""
        ...


class DeferToPerson:
    """The built-in recogniser: every submission that passed the measurable checks waits for
    a person (the brand's reviewer, or the store's salesperson first)."""

    async def judge(self, submitted: Submitted) -> RecogniserResult:
        return RecogniserResult(REVIEW, "需人工审核陈列效果", code="needs_person")


def _to_person(message: str) -> RecogniserResult:
    return RecogniserResult(REVIEW, message)


class HttpRecogniser:
    """A brand's image service. It is POSTed JSON:

        {"brand_id", "program_id", "store_id", "check_seq",
         "photos": [{"id", "url", "width", "height", "taken_at"}],
         "standard": "...", "skus": [{"id", "name"}], "sku_names": ["..."]}

    and answers 200 with `{"verdict": "passed"|"review"|"failed", "message": "..."}`. Anything
    else (a timeout, an error status, another shape) sends the submission to a person.
    """

    def __init__(self, url: str, *, timeout: float = HTTP_TIMEOUT_SECONDS) -> None:
        self.url, self.timeout = url, timeout

    @staticmethod
    def payload(submitted: Submitted) -> dict[str, Any]:
        return {
            "brand_id": submitted.brand_id,
            "program_id": submitted.program_id,
            "store_id": submitted.store_id,
            "check_seq": submitted.check_seq,
            "photos": [
                {
                    "id": photo.id,
                    "url": photo.url,
                    "width": photo.width,
                    "height": photo.height,
                    "taken_at": photo.taken_at,
                }
                for photo in submitted.photos
            ],
            "standard": submitted.standard,
            "skus": [{"id": sku.get("id"), "name": sku.get("name")} for sku in submitted.skus],
            "sku_names": [str(sku.get("name", "")) for sku in submitted.skus],
        }

    async def judge(self, submitted: Submitted) -> RecogniserResult:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(self.url, json=self.payload(submitted))
        except httpx.TimeoutException:
            log.warning("display recogniser timed out", extra={"url": self.url})
            return _to_person("图像识别服务超时，转人工审核")
        except httpx.HTTPError:
            log.warning("display recogniser unreachable", extra={"url": self.url}, exc_info=True)
            return _to_person("图像识别服务暂不可用，转人工审核")
        if response.status_code != 200:
            log.warning(
                "display recogniser refused",
                extra={"url": self.url, "status": response.status_code},
            )
            return _to_person("图像识别服务出错，转人工审核")
        return _read_answer(response)


def _read_answer(response: httpx.Response) -> RecogniserResult:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    verdict = answer.get("verdict") if isinstance(answer, dict) else None
    message = answer.get("message") if isinstance(answer, dict) else None
    if verdict not in VERDICTS or not isinstance(message, str):
        return _to_person("图像识别服务的答复无法识别，转人工审核")
    message = message.strip()[:MAX_MESSAGE_LENGTH]
    if not message:
        message = {
            PASSED: "图像识别通过",
            REVIEW: "图像识别无法确定，转人工审核",
            FAILED: "图像识别未通过",
        }[verdict]
    return RecogniserResult(verdict, message)


def recogniser_for(settings: Settings) -> Recogniser:
    """The recogniser this deployment is set to use: the brand's service at
    B2BC_DISPLAY_RECOGNISER_URL, else a person."""
    if settings.display_recogniser_url:
        return HttpRecogniser(settings.display_recogniser_url)
    return DeferToPerson()
