"""Self-tests of FakeTelegram, driven by the real python-telegram-bot client over loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import time
from collections.abc import Iterator

import pytest
from PIL import Image
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, LabeledPrice, Update
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes, MessageHandler, filters

from tests.fakes.telegram import ApiError, FakeTelegram, Upload, parse_html

USER = 42


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def make_bot(fake: FakeTelegram, token: str = "123456:TEST-TOKEN") -> Bot:
    return Bot(token, base_url=f"{fake.base_url}/bot", base_file_url=f"{fake.base_url}/file/bot")


def make_app(fake: FakeTelegram) -> Application:  # type: ignore[type-arg]
    return (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(f"{fake.base_url}/bot")
        .base_file_url(f"{fake.base_url}/file/bot")
        .build()
    )


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(buffer, format="PNG")
    return buffer.getvalue()


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


async def test_get_me_and_commands(fake: FakeTelegram) -> None:
    async with make_bot(fake) as bot:
        assert bot.username == "plc_copilot_test_bot"
        assert (await bot.get_me()).is_bot
        await bot.set_my_commands([("start", "Start"), ("help", "Help")])
        assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
        assert await bot.delete_webhook()
    assert fake.sent("setMyCommands")[0]["commands"][0] == {"command": "start", "description": "Start"}


async def test_wrong_token_is_invalid_token(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(fake, token="999:WRONG"):
            pass


async def test_send_and_edit_keep_a_transcript(fake: FakeTelegram) -> None:
    async with make_bot(fake) as bot:
        sent = await bot.send_message(
            USER, "<b>Analysing</b> pump &amp; motor…", parse_mode="HTML", reply_markup=keyboard("cancel")
        )
        assert sent.text == "Analysing pump & motor…"  # plain text, like Telegram returns it
        assert sent.reply_markup == keyboard("cancel") and sent.from_user.is_bot
        await bot.edit_message_text("Step 2", chat_id=USER, message_id=sent.message_id)
        edited = await bot.edit_message_text(
            "Done", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("ok")
        )
        assert edited.text == "Done" and edited.edit_date is not None
        second = await bot.send_message(USER, "Next")
    assert second.message_id == sent.message_id + 1
    status = fake.bot_messages(USER)[0]
    assert status.text == "Done" and status.buttons == ["ok"]
    assert status.history == ["<b>Analysing</b> pump &amp; motor…", "Step 2", "Done"]
    assert fake.last_message(USER).text == "Next"  # type: ignore[union-attr]
    first = fake.sent("sendMessage", chat_id=USER)[0]
    assert first["chat_id"] == USER and first["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "cancel"


async def test_realistic_rejections(fake: FakeTelegram) -> None:
    async with make_bot(fake) as bot:
        message = await bot.send_message(USER, "Same")
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("Same", chat_id=USER, message_id=message.message_id)
        with pytest.raises(BadRequest, match="Can't parse entities"):
            await bot.send_message(USER, "Pressure < 3 bar", parse_mode="HTML")
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(USER, "x" * 4097)
        await bot.send_message(USER, "😀" * 2048)  # 4096 UTF-16 units is still fine
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(USER, "Pick", reply_markup=keyboard("x" * 65))
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("New", chat_id=USER, message_id=999)
        assert await bot.delete_message(USER, message.message_id)
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(USER, message.message_id)
        fake.block_user(USER)
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_chat_action(USER, "typing")
    deleted = fake.bot_messages(USER, include_deleted=True)[0]
    assert deleted.text == "Same" and deleted.deleted and fake.bot_messages(USER)[0].text != "Same"
    assert len(fake.sent("sendMessage", include_failed=False)) == 2


@pytest.mark.parametrize(
    ("html", "plain"),
    [
        (
            '<b>a</b> &amp; <a href="https://x.y/?a=1&amp;b=2">link</a> &lt;24V&gt; &#128512; &quot;q&quot;',
            'a & link <24V> 😀 "q"',
        ),
        (
            '<strong>s</strong><em>e</em><ins>i</ins><strike>x</strike><del>d</del><span class="tg-spoiler">p</span>',
            "seixdp",
        ),
        (
            '<tg-spoiler>t</tg-spoiler><pre><code class="language-python">1</code></pre>'
            "<blockquote expandable>q</blockquote>",
            "t1q",
        ),
    ],
)
def test_parse_html_accepts_telegram_html(html: str, plain: str) -> None:
    assert parse_html(html) == plain


@pytest.mark.parametrize(
    "html",
    [
        "<b>open",
        "x</b>",
        "<b><i>x</b></i>",
        "<br>",
        "line<br/>",
        "<div>x</div>",
        '<span class="x">s</span>',
        "a < b",
        "a > b",
        "R&D",
        "&nbsp;",
        "<!-- c -->",
        "<p>x</p>",
    ],
)
def test_parse_html_rejects_what_telegram_refuses(html: str) -> None:
    with pytest.raises(ApiError, match="can't parse entities"):
        parse_html(html)


async def test_get_file_and_download_round_trip(fake: FakeTelegram) -> None:
    data = png(64, 48)
    fake.add_file("doc-1", data, file_path="documents/pump photo ü.png")  # percent-encoded
    fake.add_file("huge", b"x", file_size=20 * 1024 * 1024 + 1)
    async with make_bot(fake) as bot:
        file = await bot.get_file("doc-1")
        assert file.file_size == len(data)
        assert bytes(await file.download_as_bytearray()) == data
        with pytest.raises(BadRequest, match="Invalid file_id"):
            await bot.get_file("nope")
        with pytest.raises(BadRequest, match="File is too big"):
            await bot.get_file("huge")
        uploaded = await bot.send_photo(USER, png(300, 200), caption="<i>annotated</i>", parse_mode="HTML")
        assert (uploaded.photo[-1].width, uploaded.photo[-1].height) == (300, 200)
        assert uploaded.caption == "annotated"
        again = await bot.get_file(uploaded.photo[-1].file_id)  # what the bot uploaded is a file too
        assert bytes(await again.download_as_bytearray()) == png(300, 200)
    upload = fake.sent("sendPhoto")[0]["photo"]
    assert isinstance(upload, Upload) and upload.data == png(300, 200)
    assert fake.bot_messages(USER)[0].kind == "photo"


async def test_long_poll_wakes_on_injection_and_offset_confirms(fake: FakeTelegram) -> None:
    async with make_bot(fake) as bot:
        started = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        assert time.monotonic() - started >= 0.9  # waited the whole timeout for nothing
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        injected = fake.send_text(USER, "hello")
        updates = await poll
        assert time.monotonic() - started < 1
        assert [u.update_id for u in updates] == [injected["update_id"]]
        assert updates[0].message.text == "hello"  # type: ignore[union-attr]
        assert len(await bot.get_updates(timeout=0)) == 1  # not confirmed yet: delivered again
        await bot.get_updates(offset=injected["update_id"] + 1, timeout=0)
        await fake.wait_until_confirmed(injected, timeout=1)
        assert await bot.get_updates(timeout=0) == ()


async def test_fail_next_maps_to_ptb_errors(fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22.8 warns (an error here) on every RetryAfter unless time periods are opted into timedelta.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    fake.fail_next("editMessageText", 400, "Bad Request: message can't be edited")
    async with make_bot(fake) as bot:
        with pytest.raises(RetryAfter, match="Flood control exceeded") as exc_info:
            await bot.send_message(USER, "hi")
        assert exc_info.value.retry_after == dt.timedelta(seconds=3)
        message = await bot.send_message(USER, "hi")  # only the next call failed
        with pytest.raises(BadRequest, match="Message can't be edited"):
            await bot.edit_message_text("x", chat_id=USER, message_id=message.message_id)
    assert [c.get("text") for c in fake.sent("sendMessage")] == ["hi", "hi"]


async def test_builders_make_updates_ptb_understands(fake: FakeTelegram) -> None:
    fake.user(USER, first_name="Ann", language_code="de")
    async with make_bot(fake) as bot:
        menu = await bot.send_message(USER, "Choose", reply_markup=keyboard("buy:pack10"))
        built = [
            fake.send_command(USER, "/start ref_7"),
            fake.send_photo(USER, png(640, 480), caption="pump", media_group_id="g1"),
            fake.send_document(USER, png(10, 10), "IMG_1.png", "image/png"),
            fake.send_sticker(USER),
            fake.send_voice(USER),
            fake.press_button(USER, menu.message_id, "buy:pack10"),
            fake.pre_checkout(USER, "pack10:42", 50),
            fake.successful_payment(
                USER,
                "sub:42",
                250,
                "stx-1",
                subscription_expiration_date=1_900_000_000,
                is_recurring=True,
                is_first_recurring=True,
            ),
        ]
        updates = await bot.get_updates(timeout=0)
        assert [u.update_id for u in updates] == [b["update_id"] for b in built]
        start, photo, doc, sticker, voice, press, checkout, paid = updates
        assert start.message.text == "/start ref_7" and start.message.entities[0].type == "bot_command"
        assert start.effective_user.language_code == "de" and start.effective_chat.id == USER
        sizes = photo.message.photo
        assert [(s.width, s.height) for s in sizes] == [(90, 68), (320, 240), (640, 480)]
        assert photo.message.media_group_id == "g1" and photo.message.caption == "pump"
        assert photo.message.message_id > menu.message_id  # one id sequence per chat
        downloaded = await (await bot.get_file(sizes[-1].file_id)).download_as_bytearray()
        assert bytes(downloaded) == png(640, 480)
        assert doc.message.document.mime_type == "image/png" and doc.message.document.file_name == "IMG_1.png"
        assert sticker.message.sticker.emoji and voice.message.voice.mime_type == "audio/ogg"
        assert press.callback_query.data == "buy:pack10" and press.callback_query.message.text == "Choose"
        assert await press.callback_query.answer()
        with pytest.raises(BadRequest, match="Query is too old"):
            await press.callback_query.answer()  # answering twice is a bug
        assert checkout.pre_checkout_query.total_amount == 50
        assert await checkout.pre_checkout_query.answer(ok=True)
        payment = paid.message.successful_payment
        assert payment.is_recurring and payment.is_first_recurring and payment.total_amount == 250
        assert await bot.refund_star_payment(USER, "stx-1")
        with pytest.raises(BadRequest, match="Charge_already_refunded"):
            await bot.refund_star_payment(USER, "stx-1")
        invoice = await bot.send_invoice(
            USER, "10 analyses", "Pack", "pack10:42", "XTR", [LabeledPrice("10 analyses", 50)]
        )
        assert invoice.invoice.total_amount == 50  # type: ignore[union-attr]
        link = await bot.create_invoice_link(
            "Monthly", "Sub", "sub:42", "XTR", [LabeledPrice("m", 250)], subscription_period=2592000
        )
        assert link.startswith("https://t.me/")
    assert fake.sent("createInvoiceLink")[0]["subscription_period"] == 2592000
    assert fake.sent("answerPreCheckoutQuery")[0]["ok"] is True
    with pytest.raises(AssertionError, match="no button"):
        fake.press_button(USER, menu.message_id, "forged")


async def test_application_polls_replies_and_confirms(fake: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text("Send me a photo")  # type: ignore[union-attr]

    async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        status = await message.reply_text("Analysing…")  # type: ignore[union-attr]
        file = await message.photo[-1].get_file()  # type: ignore[union-attr]
        with Image.open(io.BytesIO(await file.download_as_bytearray())) as img:
            await status.edit_text(f"Done: {img.width}×{img.height}")

    app = make_app(fake)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.PHOTO, photo))
    async with app:
        await app.updater.start_polling(timeout=5)  # type: ignore[union-attr]
        await app.start()
        command = fake.send_command(USER, "/start")
        await fake.wait_for(lambda: fake.sent("sendMessage", chat_id=USER))
        fake.send_photo(USER, png(800, 600))
        status = await fake.wait_for(lambda: fake.last_message(USER).text.startswith("Done"))  # type: ignore[union-attr]
        assert status is True
        await fake.wait_until_confirmed(command)
        await app.updater.stop()  # type: ignore[union-attr]
        await app.stop()
    texts = [m.text for m in fake.bot_messages(USER)]
    assert texts == ["Send me a photo", "Done: 800×600"]
    assert fake.bot_messages(USER)[1].history == ["Analysing…", "Done: 800×600"]
    assert fake.sent("deleteWebhook") and fake.sent("getMe")


async def test_wait_for_times_out_with_a_transcript(fake: FakeTelegram) -> None:
    fake.send_text(USER, "anyone there?")
    with pytest.raises(AssertionError, match=r"(?s)anyone there\?.*recent calls"):
        await fake.wait_for(lambda: fake.bot_messages(USER)[0], timeout=0.05)


async def test_media_group_and_unimplemented_methods(fake: FakeTelegram) -> None:
    async with make_bot(fake) as bot:
        album = await bot.send_media_group(
            USER, [InputMediaPhoto(png(20, 10), caption="a"), InputMediaPhoto(png(30, 10))]
        )
        assert [m.photo[-1].width for m in album] == [20, 30]
        assert album[0].media_group_id == album[1].media_group_id and album[0].caption == "a"
        with pytest.raises(InvalidToken, match="does not implement sendPoll"):
            await bot.send_poll(USER, "Q?", ["a", "b"])
    assert [m.kind for m in fake.bot_messages(USER)] == ["photo", "photo"]
