"""Seeded generators of data in real formats (demos, notebooks, tests, benchmarks).

* :mod:`.eeg`: synthetic motor-imagery EDF recordings (``signalkit demo``)
* :mod:`.fmri`: block-design NIfTI runs with events and an atlas
* :mod:`.weather`: advecting temperature fields as CF NetCDF
* :mod:`.video`: lossless FFV1 video files
* :mod:`.moving_mnist`: Moving MNIST sequences (Srivastava et al. 2015, as in OpenSTL)
"""
