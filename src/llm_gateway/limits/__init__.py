"""Rate limits shared by every replica: ``rpm``/``tpm`` per provider model (policy fields) and
per node and client key (``limits.yaml``), see :mod:`.limiter`. :mod:`.spec` is the file,
:mod:`.gcra` the algorithm, :mod:`.store` where buckets live (memory, Redis), :mod:`.lease`
the slices of capacity each replica holds, :mod:`.runtime` how a serving process starts them.
"""
