"""The wording of llmpp's default LLM-PP prompt, one constant per component.

Written for llmpp (not taken from the paper's templates); the paper's components
are kept — role, instructions, hyperparameter definitions, demonstrations — so its
ablations can be reproduced by switching components off.
"""

ROLE = (
    "You are an expert at predicting how well a neural machine translation model will "
    "translate before it is trained. For a Transformer architecture you estimate the BLEU "
    "score it reaches when trained from scratch."
)

INSTRUCTIONS_HEADER = "Keep the following in mind:"

TASK = (
    "The task is {title} translation ({source} to {target}). Translation quality is "
    "measured with BLEU on the task's validation set."
)

TASK_EXAMPLES = "Typical sentence pairs of this task look like this:\n{examples}"

TRANSFORMER_PAPER = (
    "Every architecture is an encoder-decoder Transformer of the kind introduced in "
    '"Attention Is All You Need" (Vaswani et al., 2017). All of them are trained with the '
    "same recipe; they differ only in the hyperparameters listed for each one."
)

GFLOPS = (
    "GFLOPS is the compute of one forward pass for a single sentence pair, in billions "
    "of floating-point operations: it tells how large and costly the model is."
)

CONCENTRATE = (
    "Study the example architectures below, with their GFLOPS and measured BLEU, to work "
    "out how width, depth, feed-forward size and attention choices relate to BLEU, and "
    "base your estimate on them."
)

ANSWER_FORMAT = "Reply with the estimated BLEU score only: a single number with two decimals."

DEFINITIONS_HEADER = "Meaning of each hyperparameter:"

DEFINITIONS = {
    "encoder-embed-dim-subtransformer": "width of the encoder's hidden states and embeddings",
    "encoder-layer-num-subtransformer": "number of layers stacked in the encoder",
    "encoder-ffn-embed-dim-all-subtransformer": (
        "inner width of the feed-forward block, one value per encoder layer"
    ),
    "encoder-self-attention-heads-all-subtransformer": (
        "self-attention heads, one value per encoder layer"
    ),
    "decoder-embed-dim-subtransformer": "width of the decoder's hidden states and embeddings",
    "decoder-layer-num-subtransformer": "number of layers stacked in the decoder",
    "decoder-ffn-embed-dim-all-subtransformer": (
        "inner width of the feed-forward block, one value per decoder layer"
    ),
    "decoder-self-attention-heads-all-subtransformer": (
        "self-attention heads, one value per decoder layer"
    ),
    "decoder-ende-attention-heads-all-subtransformer": (
        "heads of the encoder-decoder (cross) attention, one value per decoder layer"
    ),
    "decoder-arbitrary-ende-attn-all-subtransformer": (
        "which encoder layers each decoder layer's cross-attention reads: -1 only the "
        "last one, 1 the last two, 2 the last three"
    ),
}

DEMOS_HEADER = "Example architectures with their measured BLEU:"

MULTI_HEADER = "Test architecture {index}:"
MULTI_ANSWER = (
    "Estimated BLEU of each test architecture above, one line each as '<number>: <BLEU>':"
)
