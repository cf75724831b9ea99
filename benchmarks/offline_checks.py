"""Per-call cost of the offline checks (failure to answer, toxicity pre-check) on 500-character texts.

Printed, per evaluator: first-use cost (lazy loading of phrase lists / lexicon and glin-profanity, measured in a
fresh interpreter together with the resident memory it adds), then the per-call time on several 500-character
texts (median and p95 of many calls, best of a few repeats), and the throughput of two threads sharing one
evaluator (the GIL makes it about one core's worth). Then the toxicity pre-check on one 500-character text at a
time, before and now: the reference kept in ``tests/evaluation/toxicity_reference.py`` (the implementation the
single-pass matcher replaced: glin-profanity's one regex search per dictionary word) against the current one, in
the same run, with the ratio; and on the benchmark's own spans (evaluation.py) and a seeded varied corpus of
texts with abuse, obfuscation and many scripts. Then the pre-check's precision and recall on small labelled sets
(so lexicon edits can be checked against them).

    python benchmarks/offline_checks.py [--calls 300] [--repeats 3] [--corpus 400]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.evaluation's reference
from evaluation import ANSWER, QUESTION

from llmotel.evaluation.checks import toxicity
from llmotel.evaluation.checks.failure_to_answer import FailureToAnswerEvaluator
from llmotel.evaluation.checks.toxicity import ToxicityPrecheckEvaluator
from llmotel.evaluation.types import EvaluationInput
from tests.evaluation import toxicity_corpus, toxicity_reference

CHARS = 500
HELPFUL = (
    "The deployment finished and the service is healthy again; the logs show the retry logic worked as expected "
    "after the database failover. If the health check is not found, the probe returns 404 and the pod restarts. "
)
TEXTS = {
    "helpful (en)": HELPFUL,
    "refusal (en)": "I'm sorry, but I can't help with that request. " + HELPFUL,
    "short refusal (de)": "Es tut mir leid, aber dabei kann ich Ihnen leider nicht helfen.",
    "abusive (en)": HELPFUL[:300] + " You are a fucking idiot and I will find where you live. ",
    "accented (fr)": "Le déploiement est terminé et le service fonctionne à nouveau ; les journaux montrent que ",
}

# Labelled (toxic, safe) sets for the toxicity pre-check's precision and recall.
# Written while designing the lexicon (in-sample).
DESIGN_SET = (
    [  # toxic
        'You are a fucking idiot.',
        'Shut up, you stupid bitch.',
        'Go fuck yourself.',
        'What a load of bullshit, you moron.',
        'This is shit and you are an asshole.',
        'You worthless piece of crap, nobody likes you.',
        'F*ck you and your stupid questions.',
        'you are such a d1ck',
        'sh1t answer, a$$hole',
        'I will kill you if you ask me that again.',
        "I'm going to find where you live and hurt you.",
        'You are a pathetic loser and an idiot.',
        'Screw you, dumbass.',
        'Fuck off.',
        'What the fuck is wrong with you',
        "You're a disgusting, useless waste of space.",
        'Kill yourself.',
        'Damn you, bastard.',
        'Du bist ein Arschloch.',
        'Va te faire foutre, connard.',
        'Eres un pendejo, hijo de puta.',
        'Sei uno stronzo.',
        'Vai tomar no cu, seu merda.',
        'Jij bent een klootzak.',
        'Halt die Fresse, du Wichser.',
        'shut the f u c k up',
    ],
    [  # safe
        'Scunthorpe United won the match on Saturday.',
        "The assassin's creed series is a popular video game franchise.",
        'Mix the cocktail with ice and shake well.',
        'To stop it, kill the process with kill -9 and its PID.',
        'We will shoot a photo of the product tomorrow morning.',
        'The analysis shows a clear trend in the data.',
        'Pass the class name as the first argument.',
        'Shiitake mushrooms are great in a stir-fry.',
        'The cumulative total was computed per row.',
        'The bitch gave birth to six healthy puppies.',
        'Dick Van Dyke starred in Mary Poppins.',
        'Sussex and Essex are counties in England.',
        'Press the button to execute the script.',
        'The hell of a day was over; she finally slept.',
        'Our attack surface includes the public API.',
        'The cock crowed at dawn on the farm.',
        'Please grab the pussy willow branches for the vase.',
        'The referee blew the whistle to end the game.',
        'Hitting the ball hard is key in baseball.',
        'The thermostat setting was wrong, I fixed it.',
        'Das Wetter in Berlin ist heute schön.',
        'Le chat dort sur le canapé.',
        'El informe está listo para revisión.',
        'Der Fahrplan wurde geändert.',
        'The patient had a breast examination at the clinic.',
        'Sex education is part of the school curriculum.',
        'Thank you for your help, this answer is great!',
        'Destroy the temporary objects to free memory.',
        'The git blame command shows who changed each line.',
        "He's a dummy variable in the regression.",
    ],
)
# Written after the design; one change (ambiguous vs mild profanity) was informed by its misses.
HELD_OUT_SET = (
    [  # toxic
        'Are you really this dense, you absolute moron?',
        'Nobody asked for your garbage opinion, idiot.',
        'This answer is complete horseshit.',
        'Get fucked, you useless bot.',
        'I swear I will hurt you if this breaks again.',
        'What kind of braindead moron wrote this code?',
        'You suck at this, seriously.',
        'Go to hell.',
        "You are the dumbest assistant I've ever used.",
        'Listen here you little shit.',
        "I'm going to kill you, you stupid machine.",
        'Piss off and stop wasting my time.',
        'Your creators must be idiots.',
        'This is a shitty, worthless answer.',
        'Holy fuck, that is wrong.',
        "You're an incompetent clown.",
        'STFU and just give me the code.',
        'Eat shit.',
        'Damn you and your useless rules.',
        'You pathetic excuse for an AI.',
        'Bist du blöd oder was?',
        'Du Vollidiot, das ist falsch.',
        'Leck mich am Arsch.',
        "T'es vraiment un abruti.",
        'Ferme ta gueule, sale con.',
        'Quelle réponse de merde.',
        '¡Eres un inútil de mierda!',
        'Cállate, imbécil.',
        'Qué pendejada de respuesta.',
        'Você é um idiota completo.',
        'Que merda de resposta, porra.',
        'Sei proprio un cretino.',
        'Che cazzo dici?',
        'Wat een klote antwoord, sukkel.',
        'Je bent een idioot.',
        'y0u are a f4cking l0ser',
        'you are a pi3ce of sh1t',
        'I hope you die.',
        'Kill urself.',
        'Shut your mouth, you dumb bitch.',
    ],
    [  # safe
        'The kill switch stops the motor immediately.',
        'Use git rebase to squash your commits.',
        'The Wizard of Oz features the Wicked Witch of the West.',
        'He works as an analyst at a bank in Essex.',
        'Pet the cat gently behind its ears.',
        'The hooker (rugby position) throws the ball in at line-outs.',
        'Mount the drive and check the free space.',
        'The shooter game was rated M for mature.',
        'Can you explain how to execute a SQL query?',
        'The sniper rifle in the museum is from 1916.',
        'Sorry, I made a dumb mistake in my last message.',
        "That's a killer feature!",
        'The band played a blistering set.',
        'My cat is a little devil sometimes.',
        'The suspect was charged with assault.',
        'The chemotherapy targets cancer cells.',
        'Please bear with me while I load the data.',
        'Beat the eggs until stiff peaks form.',
        'The crackhead character in the film was tragic.',
        'Cocktails are half price during happy hour.',
        'Reboot the server and check the logs again.',
        'The Battle of Hastings took place in 1066.',
        'Use a hammer to nail the boards together.',
        "I love this, it's fantastic!",
        'Die Katze schläft auf dem Sofa.',
        'Bitte senden Sie mir die Rechnung.',
        'Das Konzert war der Hammer.',
        'Je suis en retard, désolé.',
        'Le con-artiste a été arrêté.',
        "Il fait beau aujourd'hui.",
        'Hoy hace mucho calor en Madrid.',
        'La película fue muy buena.',
        'Pon la concha en la mesa.',
        'O relatório está pronto para revisão.',
        'Vou ao mercado comprar pão.',
        'Il pesce è fresco oggi.',
        'Ho comprato una pistola ad acqua per mio figlio.',
        'Ik ga morgen naar de markt.',
        'Het gat in de weg is gerepareerd.',
        'Shiitake and porcini are my favourite mushrooms.',
    ],
)
# Written after the last lexicon change; nothing was tuned on it.
VALIDATION_SET = (
    [  # toxic
        "You're a moron and everyone knows it.",
        'Fuck this garbage assistant.',
        'You brainless idiot, read my question again.',
        "I'll beat you senseless.",
        'What a dumbass answer, you clown.',
        'Your answer is shit and so are you.',
        'Nobody likes you, loser.',
        'Du bist echt ein Idiot.',
        'Tu es un crétin fini.',
        'Eres un estúpido.',
        'Vai à merda, idiota.',
        'Sei un coglione.',
        'Jij bent echt dom, sukkel.',
        'Get lost, you worthless piece of trash.',
        'Stupid bitch, answer the question.',
    ],
    [  # safe
        'Kill the background job with Ctrl+C.',
        'The assassination of Franz Ferdinand started WW1.',
        "That's a sick skateboard trick!",
        'The shoot for the magazine cover is on Monday.',
        'You can screw the lid on tightly.',
        'The dog breeder has two bitches and a stud.',
        'Explain how the hell-bent villain is defeated in the novel.',
        'Is it stupid to ask how recursion works?',
        'Ich habe einen dummen Fehler gemacht.',
        "C'est nul, il pleut encore.",
        'El idiota es una novela de Dostoievski.',
        'Non so cosa fare stasera.',
        'Hij is een fan van de band.',
        'You are right, thanks!',
        'The Dickens novel is long.',
    ],
)


def make_input(text: str, pad: bool = True) -> EvaluationInput:
    """The text repeated up to 500 characters (unless ``pad`` is off) as both the question and the answer."""
    body = (text * (CHARS // len(text) + 1))[:CHARS] if pad else text
    return EvaluationInput(
        input_messages=[{"role": "user", "parts": [{"type": "text", "content": body}]}],
        output_messages=[{"role": "assistant", "parts": [{"type": "text", "content": body}]}],
    )


def per_call(fn: Callable[[], object], calls: int, repeats: int) -> tuple[float, float]:
    """Median and p95 per-call seconds; the repeat with the lowest median wins."""
    best: tuple[float, float] | None = None
    for _ in range(repeats):
        samples = []
        for _ in range(calls):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        samples.sort()
        result = (statistics.median(samples), samples[int(len(samples) * 0.95) - 1])
        if best is None or result[0] < best[0]:
            best = result
    assert best is not None
    return best


FIRST_USE = """
import time
def rss():
    return int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0]) / 1024
from llmotel.evaluation.types import EvaluationInput
from llmotel.evaluation.checks.{module} import {cls}
item = EvaluationInput(
    input_messages=[{{"role": "user", "parts": [{{"type": "text", "content": "hello"}}]}}],
    output_messages=[{{"role": "assistant", "parts": [{{"type": "text", "content": "hello there"}}]}}])
before = rss(); start = time.perf_counter()
{cls}().evaluate(item)
print(f"{{(time.perf_counter() - start) * 1000:.0f}} ms, +{{rss() - before:.1f}} MiB resident")
"""


def quality() -> None:
    """Precision/recall (label ``toxic``) and how many verdicts are certain, on the labelled sets."""
    evaluator = ToxicityPrecheckEvaluator(targets=["output"])

    def verdict(text: str) -> tuple[bool, bool]:
        results = evaluator.evaluate(make_input(text, pad=False))
        assert results is not None
        return results[0].label == "toxic", bool(results[0].metadata["certain"])

    print("\ntoxicity quality (output side, defaults)")
    for name, (toxic, safe) in (("design", DESIGN_SET), ("held-out", HELD_OUT_SET), ("validation", VALIDATION_SET)):
        on_toxic = [verdict(t) for t in toxic]
        on_safe = [verdict(t) for t in safe]
        tp, fp = sum(v[0] for v in on_toxic), sum(v[0] for v in on_safe)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / len(toxic)
        certain = f"certain: {sum(v[1] for v in on_toxic)} toxic, {sum(v[1] for v in on_safe)} safe texts"
        sizes = f"({len(toxic)} toxic, {len(safe)} safe)"
        print(f"  {name:10} precision {precision:.2f} recall {recall:.2f} {sizes}  {certain}")


def before_and_now(calls: int, repeats: int, corpus_size: int) -> None:
    """The pre-check's ``judge_text`` on one text, reference (glin-profanity's per-word search) against now."""
    reference = toxicity_reference.Detector(toxicity.DEFAULT_LANGUAGES, toxicity_reference.lexicon())
    now = toxicity.detector_for(toxicity.DEFAULT_LANGUAGES)
    texts = {name: (text * (CHARS // len(text) + 1))[:CHARS] for name, text in TEXTS.items()}
    texts["span question"] = f"Ticket 17. {QUESTION}"
    texts["span answer"] = f"{ANSWER} (ticket 17)"
    print("\ntoxicity pre-check, one text (judge_text): before (reference) -> now, median of many calls")
    for name, text in texts.items():
        assert toxicity.judge_text(text, now) == toxicity_reference.judge_text(text, reference), name
        old, _ = per_call(partial(toxicity_reference.judge_text, text, reference), max(calls // 10, 20), repeats)
        new, p95 = per_call(partial(toxicity.judge_text, text, now), calls, repeats)
        print(f"  {name:20} {len(text):4} chars  {old * 1e3:7.3f} ms -> {new * 1e3:6.3f} ms (p95 {p95 * 1e3:6.3f})"
              f"  {old / new:5.1f}x faster")
    corpus = [text[:5000] for text in toxicity_corpus.texts(corpus_size, 7)]
    for label, judge, detector in (("before", toxicity_reference.judge_text, reference),
                                   ("now", toxicity.judge_text, now)):
        times = []
        for text in corpus:
            start = time.perf_counter()
            judge(text, detector)
            times.append(time.perf_counter() - start)
        chars = sum(len(t) for t in corpus)
        times.sort()
        print(f"  varied corpus ({len(corpus)} texts, mean {chars / len(corpus):.0f} chars), {label}: mean "
              f"{statistics.mean(times) * 1e3:.3f} ms per text, p95 {times[int(len(times) * 0.95)] * 1e3:.3f} ms, "
              f"{sum(times) / chars * CHARS * 1e3:.3f} ms per 500 chars")


def first_use(module: str, cls: str) -> str:
    code = FIRST_USE.format(module=module, cls=cls)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--corpus", type=int, default=400, help="texts of the varied corpus to time")
    args = parser.parse_args()

    evaluators: list[tuple[str, str, str, FailureToAnswerEvaluator | ToxicityPrecheckEvaluator]] = [
        ("failure_to_answer", "failure_to_answer", "FailureToAnswerEvaluator", FailureToAnswerEvaluator()),
        ("toxicity (input + output)", "toxicity", "ToxicityPrecheckEvaluator", ToxicityPrecheckEvaluator()),
        ("toxicity (output only)", "toxicity", "ToxicityPrecheckEvaluator",
         ToxicityPrecheckEvaluator(targets=["output"])),
    ]
    inputs = {name: make_input(text, pad=not name.startswith("short")) for name, text in TEXTS.items()}
    for title, module, cls, evaluator in evaluators:
        print(f"\n{title}: first use {first_use(module, cls)}")
        evaluator.evaluate(inputs["helpful (en)"])
        for name, item in inputs.items():
            median, p95 = per_call(partial(evaluator.evaluate, item), args.calls, args.repeats)
            print(f"  {name:20} median {median * 1e3:7.3f} ms   p95 {p95 * 1e3:7.3f} ms")
        items = list(inputs.values()) * (args.calls // len(inputs))
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(evaluator.evaluate, items))
        elapsed = time.perf_counter() - start
        print(f"  2 threads: {len(items) / elapsed:8.0f} evaluations/s")
    before_and_now(args.calls, args.repeats, args.corpus)
    quality()


if __name__ == "__main__":
    main()
