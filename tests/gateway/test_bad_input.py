"""Bad input gets a clear 4xx in the error shape, never a 500, and nothing is stored."""

from __future__ import annotations

from pathlib import Path

from tests.support.gateway import running_gateway


async def test_bad_requests_get_clear_errors(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, max_body_bytes=64 * 1024) as gw:
        h = {**gw.auth(), "Content-Type": "application/json"}
        cases = [
            (b'{"to": "+14155552671", "message": ', 400, "invalid_json"),
            (b"not json at all", 400, "invalid_json"),
            (b'{"to": 14155552671, "message": "hi"}', 422, "validation_error"),
            (b'{"message": "hi"}', 422, "validation_error"),
            (b'{"to": "+14155552671"}', 422, "validation_error"),
            (b'["to", "message"]', 422, "validation_error"),
            (b'{"to": "+1", "message": "hi"}', 422, "invalid_number"),
            (b'{"to": "hello", "message": "hi"}', 422, "invalid_number"),
            (b'{"to": "+14155552671", "message": ""}', 422, "empty_message"),
            (b'{"to": "+14155552671", "message": "' + b"x" * 1600 + b'"}', 422, "message_too_long"),
            (b'{"to": "+14155552671", "message": "hi", "from": "!!"}', 422, "invalid_sender"),
            (
                b'{"to": "+14155552671", "message": "hi", "callback_url": "ftp://x"}',
                422,
                "invalid_callback_url",
            ),
            (b'{"to": "+14155552671", "message": "hi", "kind": "spam"}', 422, "validation_error"),
            (b'{"to": "+14155552671", "message": "hi", "priority": 12}', 422, "validation_error"),
            (b'{"to": "+14155552671", "message": "hi", "validity": 5}', 422, "invalid_schedule"),
            (
                b'{"to": "+14155552671", "message": "hi", "send_at": "tomorrow"}',
                422,
                "validation_error",
            ),
            (b'{"to": "+14155552671", "message": "' + b"x" * 70_000 + b'"}', 413, "body_too_large"),
            (
                b'{"to": "+14155552671", "message": "hi", "callback_url": "http://[abc/x"}',
                422,
                "invalid_callback_url",
            ),
            (b'{"to": "+14155552671", "message": "a\\u0000b"}', 422, "validation_error"),
            (
                b'{"to": "+14155552671", "message": "hi", "client_ref": "\\u0000"}',
                422,
                "validation_error",
            ),
            (
                b'{"to": "+14155552671", "spintax": true, "message": "' + b"{a|b}" * 120 + b'"}',
                422,
                "spintax_syntax",
            ),
        ]
        for body, status, code in cases:
            for path in ("/send", "/v1/messages"):
                r = await gw.client.post(path, headers=h, content=body)
                assert r.status_code == status, (path, body[:60], r.text)
                assert r.json()["error"]["code"] == code, (body[:60], r.text)
                assert "Traceback" not in r.text
        bad_batch = [b"{", b"[]", b'{"messages": []}', b'{"messages": "x"}']
        for body in bad_batch:
            r = await gw.client.post("/v1/messages/batch", headers=h, content=body)
            assert r.status_code in (400, 422), r.text
        r = await gw.client.get("/v1/messages/msg_doesnotexist", headers=gw.auth())
        assert r.status_code == 404
        r = await gw.client.get("/v1/messages?limit=0", headers=gw.auth())
        assert r.status_code == 422
        for url in (
            "/v1/messages?cursor=a%00b",
            "/v1/messages?client_ref=%00",
            "/v1/messages/msg_%00x",
        ):
            r = await gw.client.get(url, headers=gw.auth())
            assert r.status_code == 422, (url, r.text)
        r = await gw.client.get("/v1/messages?to=garbage", headers=gw.auth())
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_number"
        r = await gw.client.post(
            "/send",
            headers={**h, "Idempotency-Key": "x" * 300},
            content=b'{"to": "+14155552671", "message": "hi"}',
        )
        assert r.status_code == 422
        listed = await gw.client.get("/v1/messages", headers=gw.auth())
        assert listed.json()["data"] == []


async def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, rate_limit=1.0, rate_burst=2) as gw:
        payload = {"to": "+14155552671", "message": "hi"}
        codes = [
            (await gw.client.post("/send", headers=gw.auth(), json=payload)).status_code
            for _ in range(2)
        ]
        assert codes == [202, 202]
        limited = await gw.client.post("/send", headers=gw.auth(), json=payload)
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1


async def test_batch_larger_than_the_burst_is_refused_not_throttled(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, rate_limit=100.0, rate_burst=10) as gw:
        r = await gw.client.post(
            "/v1/messages/batch",
            headers=gw.auth(),
            json={"messages": [{"to": "+14155552671", "message": f"m{n}"} for n in range(11)]},
        )
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "batch_too_large"
        ok = await gw.client.post(
            "/v1/messages/batch",
            headers=gw.auth(),
            json={"messages": [{"to": "+14155552671", "message": f"m{n}"} for n in range(10)]},
        )
        assert ok.status_code == 202


async def test_list_filters_and_cursor_pagination(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        ids = []
        for i in range(7):
            r = await gw.client.post(
                "/send",
                headers=gw.auth(),
                json={
                    "to": "+14155552671" if i % 2 else "+4915112345678",
                    "message": f"m{i}",
                    "client_ref": f"ref-{i}",
                },
            )
            ids.append(r.json()["message_id"])
        seen, cursor = [], None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await gw.client.get("/v1/messages", headers=gw.auth(), params=params)).json()
            seen += [m["message_id"] for m in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(ids))
        by_ref = (
            await gw.client.get("/v1/messages", headers=gw.auth(), params={"client_ref": "ref-3"})
        ).json()["data"]
        assert [m["message_id"] for m in by_ref] == [ids[3]]
        by_to = (
            await gw.client.get(
                "/v1/messages", headers=gw.auth(), params={"to": "+49 151 12345678"}
            )
        ).json()["data"]
        assert len(by_to) == 4
