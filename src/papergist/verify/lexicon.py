"""Word lists the checker relies on; data only, no logic.

Kept apart so the rules in `claims` and `support` read as rules, and so the
lists can be reviewed (and extended) on their own.
"""

from __future__ import annotations

# Capitalised only because they start an English sentence: never a name there.
# (Compared lowercase. A name such as "Ferret" at the start of a sentence is kept.)
SENTENCE_WORDS = frozenset("""
a about above according across additionally after again against all also although
among an and another any applying are as at based be because before being below
besides beyond both but by building can compared compared comparing consequently
conversely crucially current currently despite detailed during each either empirical
empirically especially even every evaluation evaluations existing experiment
experiments experimental extensive finally first for following from further
furthermore given hence here however if importantly in including inspired instead
it its key large lastly leveraging like many meanwhile moreover most motivated
much new next nevertheless no not notably now of on once one only or other others
our over overall particularly performance previous prior quantitative qualitative
rather recent recently remarkably results second several similarly since so some
specifically still such surprisingly technical that the their then there therefore
these they third this those through thus to today together towards training
two under unlike unlikely upon using via we what when where whereas which while
with within without yet you your
""".split())

# Those of SENTENCE_WORDS that only lead into a name ("The GSM8K results", "Moreover
# Ferret"): dropped from a multi-word phrase, whereas "Large Language Models" stays.
LEADING_WORDS = SENTENCE_WORDS - frozenset("""
large new key current existing recent previous prior empirical extensive technical
performance training evaluation evaluations experiment experiments experimental results
quantitative qualitative detailed many several one two
""".split())

# Word endings of ordinary English words: a capitalised sentence-initial word with
# one of them ("Notably", "Extensive", "Training") is not taken for a name.
ORDINARY_SUFFIXES = ("ly", "ing", "ed", "tion", "tions", "ment", "ments", "ness", "ity",
                     "ive", "ous", "ize", "ise", "able", "ence", "ance")

# Field-wide terms: found in most papers, so naming them says nothing about *this*
# paper. They are still checked as claims; they just never make a summary specific.
UBIQUITOUS = frozenset("""
ai ml nlp cv llm lm plm mllm vlm lvlm lmm slm gpu cpu tpu api sota sft rl rlhf dpo
qa vqa t2i t2v i2v 2d 3d 4d cnn rnn lstm gru gan vae mlp moe vit gpt chatgpt bert
transformer attention selfattention crossattention encoder decoder benchmark dataset
deeplearning machinelearning neuralnetwork deepneuralnetwork reinforcementlearning
largelanguagemodel languagemodel visionlanguagemodel multimodallargelanguagemodel
largevisionlanguagemodel diffusionmodel texttoimage texttovideo imagetovideo
stateoftheart finetuning pretraining instructiontuning dataaugmentation
layernormalization batchnormalization regularization dropout convnet
computervision naturallanguageprocessing artificialintelligence zeroshot fewshot
incontextlearning chainofthought cot rag arxiv github huggingface
""".split())

# Head nouns a summary adds to a name ("Stable Video Diffusion Model"); dropped when
# the name is not found as written.
GENERIC_HEADS = frozenset("""
model models network networks framework frameworks method methods approach approaches
module modules mechanism mechanisms architecture architectures dataset datasets
benchmark benchmarks technique techniques system systems algorithm algorithms
strategy strategies pipeline pipelines layer layers block blocks score scores metric
metrics function functions loss task tasks series family variant variants version
""".split())

# Words that carry no content inside a multi-word name.
STOPWORDS = frozenset("""
a an the of for and or in on at to with from by via as is are be based using
""".split())

# Function words: never half of a distinctive word pair ("this paper", "show that").
FUNCTION_WORDS = STOPWORDS | SENTENCE_WORDS | frozenset("""
that this these those which what where when how who whom whose it its their there here
can could may might will would should shall must has have had do does did not no nor but
also than then such both each all any some more most less very only into onto over under
between within without across about after before while during through up down out off
show shows showed shown demonstrate demonstrates propose proposes proposed present presents
introduce introduces achieve achieves achieved outperform outperforms existing several
various different other others same own well way ways large margin limitations
""".split())

# Words before a number that make it a reference, not a claim ("Table 2", "그림 3").
REFERENCE_WORDS = ("table", "tables", "figure", "figures", "fig", "figs", "section",
                   "sections", "sec", "eq", "eqs", "equation", "equations", "appendix",
                   "algorithm", "step", "stage", "chapter", "line", "lines", "row",
                   "column", "ref", "refs", "version", "v", "표", "그림", "섹션",
                   "단계", "図", "表", "章", "节", "節", "式")

# Spelled-out numbers a *source* may use for a value a summary writes in digits.
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
    "twofold": 2, "threefold": 3, "fourfold": 4, "fivefold": 5, "tenfold": 10,
    "twice": 2, "double": 2, "triple": 3,
}
# Those of NUMBER_WORDS that are a multiple ("twice" = 2x).
MULTIPLE_WORDS = frozenset({"twofold", "threefold", "fourfold", "fivefold", "tenfold",
                            "twice", "double", "triple"})

# Words too common in AI papers for a pair of them ("image generation", "large
# language") to single a paper out; a title/abstract word pair counts as a
# distinctive term only if one of its words is not here. Compared as `tokens` are
# (lowercase, simple plural removed).
GENERIC_WORDS = frozenset("""
large language model vision visual image video text textual audio speech generation
generative diffusion learning deep neural network training train data dataset
multimodal multi modal modality efficient efficiency method approach benchmark
evaluation technical report toward via based new novel study survey llm mllm vlm
framework scale scaling understanding reasoning performance fast real time high
quality free state art self attention cross transformer architecture fine tuning
tuned pre pretraining pretrained instruction task tasks system result results
experiment experimental extensive analysis propose proposed paper work
representation feature features level end open source code human inference
optimization optimizer loss function parameter parameter token tokens context long
short small better improved improve improving using use simple general generalist
robust robustness accurate accuracy domain zero shot few one two single agent
agents ai machine artificial intelligence application applications downstream
benchmarking comprehensive effective scalable unified
""".split())
