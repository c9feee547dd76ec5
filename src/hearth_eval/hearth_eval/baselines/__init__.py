"""Peer planners of issue 9's comparison, behind hearth's ``LocalPlanner`` interface.

* :mod:`dwb_planner`: a dynamic-window sampler with Nav2 DWB's default critics and sampling.
* :mod:`mppi_planner`: pytorch-mppi's MPPI on hearth's dynamics and costs.

Both subclass ``hearth_trajectory.planner.LocalPlanner`` and replace only how a trajectory
is chosen (``_optimise``): the start state, latency handling, arrival and stops are shared.
"""
