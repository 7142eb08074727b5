"""Multi-run studies: a grid of runs (`runner`), one results-table writer (`tables`), and the studies built on them
(`syntone`: `decompjax benchmark syntone`; `ucr`: `decompjax sweep ucr`)."""
