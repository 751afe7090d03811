"""Short human labels for clusters from class-based TF-IDF (c-TF-IDF) keywords and n-grams.

All texts of a cluster are treated as one document; a term scores high when it is frequent
in that cluster and rare across the others (BERTopic's c-TF-IDF). Candidate terms are word
1-3-grams that start and end on a content word, so "appeal not answered" and "cuenta fue
hackeada" survive while "was not" does not. Negations are content words here on purpose:
in support text "not received" is the pain point, whereas generic stop-word lists drop it.

Stop words for English, Spanish, Portuguese and Indonesian (the languages of the demo
history) are kept in code so nothing is downloaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

__all__ = ["NEGATIONS", "STOP_WORDS", "CTfidfNamer", "candidate_terms"]

_EN = """
a about above after again against all am an and any are as at be because been before being
below between both but by could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i i'm i've i'd i'll if in into
is it it's its itself just let let's me more most my myself of off on once only or other our
ours ourselves out over own same she should so some such than that that's the their theirs
them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself also
am can could get got getting still yet even really please pls plz hi hello hey dear thanks
thank thx regards team support sir madam ok okay hii im ive id ill u ur us one would like
want need trying tried help anyone someone something way since ago know may might must shall
make made going go tell told say said think see seems seem look looks much many lot also
"""
_ES = """
a al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante
e el ella ellas ellos en entre era eran es esa esas ese eso esos esta estaba estado estan
estas este esto estos estoy fue fueron fui ha han has hasta hay he la las le les lo los me
mi mis mucho muy mas más nos nosotros o os otra otro para pero poco por porque que qué quien
se ser si sí sido sobre son su sus también te tengo tiene tienen ti tu tus un una uno unos y
ya yo hola gracias favor buenos buenas dias días tardes saludos hace ayuda quiero puedo
"""
_PT = """
a à ao aos as às até com como da das de dela dele deles do dos e é ela elas ele eles em
entre era essa esse esta está estão estava este eu foi foram há isso isto já la lhe mais
mas me meu meus minha minhas muito na nas no nos nós o os ou para pela pelas pelo pelos por
porque qual quando que quem se sem ser seu seus sua suas também te tem tenho teu tua um uma
umas uns você vocês vos olá ola obrigado obrigada favor bom boa dia tarde ajuda quero posso
estou fiz
"""
_ID = """
ada adalah agar akan aku anda apa atau bagaimana bahwa banyak bisa buat dalam dan dari
dengan di dia ini itu jadi juga kalau kami kamu karena ke kenapa ketika kita lagi lalu
mau mereka kok nya oleh pada para saat saja sama sampai saya se sebagai sedang sejak
sekarang semua setelah siapa sudah telah tentang tetapi tapi untuk yang ya halo hai terima
kasih tolong mohon bantu bantuan min kak gan pak bu sih dong deh
"""

#: Stop words per language (lower case). Negations are deliberately absent.
STOP_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in (("en", _EN), ("es", _ES), ("pt", _PT), ("id", _ID))
}

#: Negations: kept as content (they carry the pain point), but never a label on their own.
_NEG = """
not no never cannot can't cant don't dont didn't didnt doesn't doesnt won't wont isn't isnt
wasn't wasnt haven't havent hasn't hasnt couldn't couldnt unable without nothing nunca nada
sin ni tampoco não nao nem sem nenhum nenhuma tidak tak belum bukan jangan gak nggak enggak
"""
NEGATIONS = frozenset(_NEG.split())

#: Particles of phrasal verbs: may end a phrase ("top up", "log in", "locked out"), never alone.
PARTICLES = frozenset(["up", "in", "out", "off", "on", "down", "over", "back", "through"])

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def _tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if len(t) > 1 and not t.isdigit()]


def candidate_terms(text: str, stop_words: frozenset[str], max_n: int = 3) -> list[str]:
    """Word 1..max_n-grams of ``text`` that start and end on a content word.

    Stop words may sit inside an n-gram ("cuenta fue hackeada"); a negation may start one
    ("not answered") but a negation alone is not a term; a phrasal-verb particle may end one
    ("top up", "log in").
    """
    toks = _tokens(text)
    content = [t not in stop_words for t in toks]
    negation = [t in NEGATIONS for t in toks]
    particle = [t in PARTICLES for t in toks]
    terms = []
    for i, tok in enumerate(toks):
        if not content[i]:
            continue
        if not negation[i]:
            terms.append(tok)
        for n in range(2, max_n + 1):
            j = i + n - 1
            if j >= len(toks):
                break
            if (content[j] and not negation[j]) or (particle[j] and not particle[j - 1]):
                terms.append(" ".join(toks[i : j + 1]))
    return terms


class CTfidfNamer:
    """Names clusters from their c-TF-IDF terms.

    Parameters
    ----------
    n_terms:
        Terms kept per cluster in ``top_terms_``.
    max_docs_per_cluster:
        Texts sampled per cluster for counting; bounds the cost on 100k-text corpora (a few
        hundred texts give the same top terms as all of them).
    min_coverage:
        A term must occur in at least this share of the cluster's texts to be in the name
        (keeps rare but very specific n-grams out of labels).
    stop_words:
        Words never to start or end a term; defaults to the union of :data:`STOP_WORDS`.
    random_state:
        Seeds the sampling of texts.

    After ``fit``: ``names_`` (dict id -> label), ``top_terms_`` (dict id -> [(term, weight)]).
    """

    def __init__(
        self,
        n_terms: int = 10,
        max_docs_per_cluster: int = 300,
        min_coverage: float = 0.08,
        stop_words: Iterable[str] | None = None,
        random_state: int | None = 0,
    ):
        self.n_terms = n_terms
        self.max_docs_per_cluster = max_docs_per_cluster
        self.min_coverage = min_coverage
        self.stop_words = stop_words
        self.random_state = random_state

    def fit(self, texts: Sequence[str], labels: np.ndarray) -> CTfidfNamer:
        """Learn names for every label >= 0 in ``labels`` (aligned with ``texts``)."""
        labels = np.asarray(labels)
        stop = (
            frozenset(w.lower() for w in self.stop_words)
            if self.stop_words is not None
            else frozenset().union(*STOP_WORDS.values())
        )
        rng = np.random.default_rng(self.random_state)
        ids = [int(c) for c in np.unique(labels) if c >= 0]
        docs: list[str] = []
        doc_class: list[int] = []
        for row, c in enumerate(ids):
            members = np.flatnonzero(labels == c)
            if len(members) > self.max_docs_per_cluster:
                members = np.sort(rng.choice(members, self.max_docs_per_cluster, replace=False))
            docs.extend(str(texts[i]) for i in members)
            doc_class.extend([row] * len(members))
        self.names_: dict[int, str] = {}
        self.top_terms_: dict[int, list[tuple[str, float]]] = {}
        if not ids:
            return self
        vectorizer = CountVectorizer(analyzer=lambda t: candidate_terms(t, stop), binary=True)
        try:
            X = vectorizer.fit_transform(docs).tocsr()
        except ValueError:  # no candidate term anywhere (e.g. only emoji or stop words)
            for c in ids:
                self.names_[c] = f"cluster {c}"
                self.top_terms_[c] = []
            return self
        vocab = vectorizer.get_feature_names_out()
        onehot = sp.csr_matrix(
            (np.ones(len(doc_class)), (np.array(doc_class), np.arange(len(doc_class)))),
            shape=(len(ids), len(doc_class)),
        )
        counts = (onehot @ X).toarray()  # documents of each cluster containing each term
        sizes = np.asarray(onehot.sum(axis=1)).ravel()
        weights = self._ctfidf(counts)
        # A term must be in min_coverage of the texts, and in two of them when there are
        # enough texts: one text's odd trigram is not a cluster's name.
        coverage = counts / np.maximum(sizes[:, None], 1)
        coverage[(counts < 2) & (sizes[:, None] >= 4)] = 0.0
        for row, c in enumerate(ids):
            order = np.argsort(-weights[row], kind="stable")
            order = order[weights[row, order] > 0][: max(self.n_terms, 25)]
            self.top_terms_[c] = [(str(vocab[j]), float(weights[row, j])) for j in order][
                : self.n_terms
            ]
            self.names_[c] = self._label(vocab, order, weights[row], coverage[row], c)
        self._deduplicate()
        return self

    @staticmethod
    def _ctfidf(counts: np.ndarray) -> np.ndarray:
        # BERTopic's c-TF-IDF: term share within the class x log(1 + mean class mass / term mass).
        tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        term_mass = counts.sum(axis=0)
        idf = np.log(1 + counts.sum(axis=1).mean() / np.maximum(term_mass, 1))
        return tf * idf

    def _label(
        self, vocab: np.ndarray, order: np.ndarray, w: np.ndarray, cov: np.ndarray, c: int
    ) -> str:
        eligible = [j for j in order if cov[j] >= self.min_coverage] or list(order[:1])
        if not eligible:
            return f"cluster {c}"
        top = w[eligible[0]]
        # Prefer the longest phrase that is still strong: "appeal not answered" says more
        # than "appeal" (longer n-grams are rarer, so their weights are naturally lower).
        strong = [j for j in eligible if w[j] >= 0.4 * top]
        first = max(strong, key=lambda j: (len(vocab[j].split()), w[j]))
        used = {word[:5] for word in vocab[first].split()}  # crude stem: rate/rates
        parts = [vocab[first]]
        for j in eligible:
            if w[j] < 0.35 * top or len(parts) == 2:
                break
            words = {word[:5] for word in vocab[j].split()}
            if words & used:
                continue
            parts.append(vocab[j])
            used |= words
        return ", ".join(parts)

    def _deduplicate(self) -> None:
        seen: dict[str, int] = {}
        for c in sorted(self.names_):
            name = self.names_[c]
            if name in seen:
                extra = next(
                    (t for t, _ in self.top_terms_.get(c, []) if t not in name),
                    None,
                )
                name = f"{name} ({extra})" if extra else f"{name} #{c}"
                if name in seen:
                    name = f"{name} #{c}"
            seen[name] = c
            self.names_[c] = name
