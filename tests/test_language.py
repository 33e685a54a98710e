"""The language check, calibrated on real summaries and real abstracts."""

from __future__ import annotations

import json
import re

import pytest

from fakes import HF_FIXTURES, shared
from papergist.summarize.language import (
    LANGUAGE_NAMES,
    check_language,
    language_name,
    strip_glosses,
)

# Every abstract of the HF days (those of ko_summaries.json are among them).
EN_ABSTRACTS = [entry["paper"]["summary"] for path in sorted(HF_FIXTURES.glob("*.json"))
                for entry in json.loads(path.read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def ko_texts() -> dict[str, list[str]]:
    """Real Korean summaries by other tools (shared: skipped without ../shared/fixtures):
    whole summaries, and each "- **What's New**: ..." section on its own."""
    rows = json.loads(shared("ko_summaries.json").read_text(encoding="utf-8"))
    texts = [s["text"] for row in rows for s in row["summaries"]]
    sections = [part for text in texts
                for part in re.split(r"^\s*-\s*\*\*[^*]+\*\*:?", text, flags=re.M)
                if part.strip()]
    return {"summary": texts, "section": sections}

# Written for these tests: one text per language, each saying the same thing.
SAMPLES = {
    "en": "The authors propose TrackGo, a video generation method controlled by masks and "
          "arrows drawn by the user. The model reaches a lower FID than existing methods.",
    "ko": "저자들은 사용자가 그린 마스크와 화살표로 동영상 생성을 제어하는 TrackGo를 제안합니다. "
          "이 모델은 기존 방법보다 낮은 FID를 달성했습니다.",
    "ja": "本論文では、ユーザーが描いたマスクと矢印で動画生成を制御する手法TrackGoを提案する。"
          "既存手法よりも低いFIDを達成した。",
    "zh": "本文提出了TrackGo，这是一种通过用户绘制的掩码和箭头来控制视频生成的方法。"
          "该模型在实验中取得了比现有方法更低的FID。",
    "zh-TW": "本文提出了TrackGo，這是一種透過使用者繪製的遮罩和箭頭來控制影片生成的方法。"
             "該模型在實驗中取得了比現有方法更低的FID。",
    "fr": "Les auteurs proposent TrackGo, une méthode de génération de vidéos contrôlée par des "
          "masques et des flèches dessinés par l'utilisateur. Le modèle atteint un FID plus bas "
          "que les méthodes existantes.",
    "de": "Die Autoren stellen TrackGo vor, ein Verfahren zur Videoerzeugung, das mit Masken und "
          "Pfeilen des Nutzers gesteuert wird. Das Modell erreicht einen niedrigeren FID als die "
          "bisherigen Methoden.",
    "es": "Los autores proponen TrackGo, un método de generación de vídeo controlado por máscaras "
          "y flechas del usuario. El modelo obtiene un FID más bajo que los métodos existentes.",
    "it": "Gli autori propongono TrackGo, un metodo per la generazione di video controllata da "
          "maschere e frecce disegnate dall'utente. Il modello ottiene un FID più basso dei "
          "metodi esistenti.",
    "pt": "Os autores propõem o TrackGo, um método de geração de vídeo controlado por máscaras e "
          "setas do usuário. O modelo obtém um FID mais baixo do que os métodos existentes.",
    "nl": "De auteurs stellen TrackGo voor, een methode voor het genereren van video die wordt "
          "gestuurd door maskers en pijlen van de gebruiker. Het model haalt een lagere FID dan "
          "bestaande methoden.",
    "sv": "Författarna föreslår TrackGo, en metod för att generera video som styrs med masker "
          "och pilar från användaren. Modellen får ett lägre FID än tidigare metoder.",
    "pl": "Autorzy proponują TrackGo, metodę generowania wideo, która jest sterowana maskami i "
          "strzałkami użytkownika. Model osiąga niższy FID niż istniejące metody.",
    "cs": "Autoři navrhují TrackGo, metodu pro generování videa, která je řízena maskami a "
          "šipkami uživatele. Model dosahuje nižšího FID než existující metody.",
    "tr": "Yazarlar, kullanıcının çizdiği maskeler ve oklar ile kontrol edilen bir video üretim "
          "yöntemi olan TrackGo'yu öneriyor ve bu yöntem daha düşük FID elde ediyor.",
    "vi": "Các tác giả đề xuất TrackGo, một phương pháp tạo video được điều khiển bằng mặt nạ "
          "và mũi tên của người dùng.",
    "id": "Para penulis mengusulkan TrackGo, sebuah metode untuk menghasilkan video yang "
          "dikendalikan dengan masker dan panah dari pengguna.",
    "ru": "Авторы предлагают TrackGo — метод генерации видео, управляемый масками и стрелками "
          "пользователя. Модель достигает более низкого FID, чем существующие методы.",
    "uk": "Автори пропонують TrackGo — метод генерації відео, який керується масками та "
          "стрілками користувача. Модель досягає нижчого FID, ніж існуючі методи.",
    "el": "Οι συγγραφείς προτείνουν το TrackGo, μια μέθοδο παραγωγής βίντεο που ελέγχεται από "
          "μάσκες και βέλη του χρήστη.",
    "ar": "يقترح المؤلفون طريقة TrackGo لتوليد الفيديو باستخدام أقنعة وأسهم يرسمها المستخدم، "
          "ويحقق النموذج قيمة FID أقل من الطرق الحالية.",
    "fa": "نویسندگان روش TrackGo را برای تولید ویدیو با ماسک‌ها و پیکان‌های کاربر پیشنهاد می‌کنند.",
    "he": "המחברים מציעים את TrackGo, שיטה ליצירת וידאו הנשלטת על ידי מסכות וחיצים של המשתמש.",
    "hi": "लेखक TrackGo प्रस्तुत करते हैं, जो उपयोगकर्ता के मास्क और तीरों से नियंत्रित वीडियो "
          "निर्माण की एक विधि है।",
    "th": "ผู้เขียนเสนอ TrackGo ซึ่งเป็นวิธีการสร้างวิดีโอที่ควบคุมด้วยมาสก์และลูกศรของผู้ใช้",
}


def test_the_fixtures_are_all_there():
    assert len(EN_ABSTRACTS) > 180
    assert set(SAMPLES) == set(LANGUAGE_NAMES)


def test_the_korean_summaries_are_all_there(ko_texts):
    assert len(ko_texts["summary"]) == 139 and len(ko_texts["section"]) >= 400


@pytest.mark.parametrize("unit", ["summary", "section"])
def test_every_real_korean_summary_is_korean_and_nothing_else(unit, ko_texts):
    texts = ko_texts[unit]
    wrong = [(code, text[:80]) for text in texts for code, expected in
             (("ko", True), ("en", False), ("ja", False), ("zh", False), ("fr", False))
             if check_language(text, code) is not expected]
    assert wrong == []


def test_real_english_abstracts_are_english_not_korean_nor_french():
    wrong = [(code, text[:80]) for text in EN_ABSTRACTS for code, expected in
             (("en", True), ("ko", False), ("fr", False), ("de", False), ("es", False),
              ("ja", False), ("zh", False))
             if check_language(text, code) is not expected]
    assert wrong == []


@pytest.mark.parametrize("written_in", sorted(SAMPLES))
def test_each_sample_passes_only_for_its_own_language(written_in):
    accepted = [code for code in LANGUAGE_NAMES if check_language(SAMPLES[written_in], code)]
    assert accepted == [written_in]


def test_japanese_and_chinese_are_told_apart():
    ja, zh = SAMPLES["ja"], SAMPLES["zh"]
    assert check_language(ja, "ja") is True and check_language(ja, "zh") is False
    assert check_language(zh, "zh") is True and check_language(zh, "ja") is False
    assert check_language(SAMPLES["zh-TW"], "zh_TW") is True
    assert check_language(SAMPLES["zh-TW"], "zh-CN") is False


def test_english_terms_in_parentheses_do_not_count():
    korean = ("이 논문은 대규모 언어 모델(Large Language Models trained with reinforcement "
              "learning from human feedback on instruction following data)을 제안합니다.")
    assert check_language(korean, "ko") is True
    english = "We propose a new large language model for reasoning (새로운 언어 모델)."
    assert check_language(english, "ko") is False and check_language(english, "en") is True
    assert strip_glosses("a (b (c) d) e") == "a   e"


def test_only_parentheses_fall_back_to_the_whole_text():
    assert check_language("(We propose a large language model for reasoning.)", "ko") is False
    assert check_language("(We propose a large language model for reasoning.)", "en") is True


def test_technical_english_without_stop_words_is_still_english():
    sentence = "Sapiens consistently surpasses existing baselines across various benchmarks."
    assert check_language(sentence, "en") is True
    assert check_language(sentence, "fr") is False


def test_unknown_codes_and_short_texts_cannot_be_checked():
    assert check_language(SAMPLES["en"], "xx") is None
    assert check_language(SAMPLES["en"], "") is None
    assert check_language("Results: 42.1%", "en") is None
    assert check_language("좋은 결과", "ko") is None
    assert check_language("Code: https://github.com/example/some-long-project-name", "en") is None


def test_codes_are_case_insensitive_with_regions():
    assert check_language(SAMPLES["en"], "EN-us") is True
    assert check_language(SAMPLES["ko"], "ko_KR") is True
    assert check_language(SAMPLES["pt"], "pt-BR") is True


@pytest.mark.parametrize("code, name", [
    ("en", "English"), ("en-US", "English"), ("EN_gb", "English"), ("ko", "Korean"),
    ("zh_CN", "Chinese"), ("zh-Hans", "Chinese"), ("zh-TW", "Traditional Chinese"),
    ("zh-hant-HK", "Traditional Chinese"), ("pt-BR", "Portuguese"), ("xx", "xx"),
    ("tlh-Latn", "tlh-Latn"),
])
def test_language_name(code, name):
    assert language_name(code) == name


def test_about_twenty_five_languages():
    assert len(LANGUAGE_NAMES) >= 25
    assert all(language_name(code) == name for code, name in LANGUAGE_NAMES.items())
