"""How both pipelines place their tasks: images, GPUs, /dev/shm, node placement, retries and the claims, by topology.

Why one place: every task of a pipeline goes through ``Graph.cpu`` or ``Graph.gpu``, so the compile-time choices
(``Topology``) reach every task the same way and a test can read them back from the compiled YAML.
"""

from __future__ import annotations

import copy
from typing import Any

from kfp import dsl, kubernetes
from kfp.dsl.python_component import PythonComponent

from trashseg.components.train.component import train_op
from trashseg.pipelines.topology import CHECKPOINT_MOUNT, HUB_CACHE_MOUNT, Topology

SHM_SIZE = "16Gi"  # data-loader workers pass batches through /dev/shm; a pod's default is 64 MiB
# Training retries a failed attempt 3 times, waiting 60 s, then 120 s, then 240 s (an integer factor: the backend parses
# it as one). Argo stops retrying once the first attempt is older than the maximum duration (kfp's default: an hour),
# so it is a week here: a training run outlasts an hour.
RETRIES = dict(num_retries=3, backoff_duration="60s", backoff_factor=2.0, backoff_max_duration=f"{7 * 24 * 3600}s")


def on_image(component: PythonComponent, image: str) -> PythonComponent:
    """The same component naming another image (chosen when compiling; the decorator's is the local default)."""
    if component.component_spec.implementation.container.image == image:
        return component
    spec = copy.deepcopy(component.component_spec)
    spec.implementation.container.image = image
    return PythonComponent(component_spec=spec, python_func=component.python_func)


class Graph:
    """Creates a pipeline's tasks with the topology's images, resources, mounts and placement."""

    def __init__(self, topology: Topology, node_selector: Any, tolerations: Any):
        self.topology = topology
        self.node_selector, self.tolerations = node_selector, tolerations

    def _named(self, task: dsl.PipelineTask, image: str, display_name: str) -> dsl.PipelineTask:
        if self.topology.images.pull_always(image):  # a tag may name another build on each node: pull it every time
            kubernetes.set_image_pull_policy(task, "Always")
        return task.set_display_name(display_name)

    def cpu(self, component: PythonComponent, display_name: str, **arguments: Any) -> dsl.PipelineTask:
        """A task in the CPU image with the cluster's default requests."""
        image = self.topology.images.cpu
        return self._named(on_image(component, image)(**arguments), image, display_name)

    def gpu(
        self,
        component: PythonComponent,
        display_name: str,
        accelerators: int = 1,
        cpu: str = "4",
        memory: str = "16G",
        **arguments: Any,
    ) -> dsl.PipelineTask:
        """A task in the GPU image: GPUs, CPU and memory requests, a memory-backed /dev/shm, the GPU nodes'
        placement."""
        image = self.topology.images.gpu
        task = on_image(component, image)(**arguments)
        kubernetes.empty_dir_mount(
            task, volume_name="dshm", mount_path="/dev/shm", medium="Memory", size_limit=SHM_SIZE
        )
        kubernetes.add_node_selector_json(task, node_selector_json=self.node_selector)
        kubernetes.add_toleration_json(task, toleration_json=self.tolerations)
        if accelerators:  # a constant: the backend reads a count from a parameter only when it is text
            task.set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(accelerators)
        task.set_cpu_request(cpu).set_memory_request(memory)
        return self._named(task, image, display_name)

    def summary(self, **results: Any) -> dsl.PipelineTask:
        """The last task: where the results went. Never cached, so each run (kfp.local's too) has its own."""
        from trashseg.components.summary.component import summary_op

        return self.cpu(summary_op, "summary", **results).set_caching_options(False)

    def train(self, display_name: str, **arguments: Any) -> dsl.PipelineTask:
        """A train task as the topology has it: in its pod, or as the launcher of a TrainJob across nodes; with retries
        that resume from the checkpoint claim when there is one, and the hub-cache claim when there is one."""
        topology = self.topology
        if topology.train_nodes > 1:  # the launcher: CPU image, no GPU; the TrainJob's nodes run the GPU image
            settings = {"image": topology.images.gpu, "claim": topology.checkpoint_claim}
            if topology.hub_cache_claim:
                settings.update(hub_cache_claim=topology.hub_cache_claim, hub_cache_mount=HUB_CACHE_MOUNT)
            task = self.cpu(
                train_op,
                display_name + " (TrainJob)",
                checkpoint_root=CHECKPOINT_MOUNT,
                gpus=topology.train_gpus,
                nodes=topology.train_nodes,
                trainjob=settings,
                node_selector=self.node_selector,
                tolerations=self.tolerations,
                **arguments,
            )
        else:
            root = CHECKPOINT_MOUNT if topology.checkpoint_claim else ""
            task = self.gpu(
                train_op,
                display_name,
                accelerators=topology.train_gpus,
                cpu="8",
                memory="32G",
                checkpoint_root=root,
                gpus=topology.train_gpus,
                **arguments,
            )
        if topology.checkpoint_claim:
            kubernetes.mount_pvc(task, pvc_name=topology.checkpoint_claim, mount_path=CHECKPOINT_MOUNT)
        if topology.hub_cache_claim:
            kubernetes.mount_pvc(task, pvc_name=topology.hub_cache_claim, mount_path=HUB_CACHE_MOUNT)
            task.set_env_variable("HF_HUB_CACHE", HUB_CACHE_MOUNT).set_env_variable("HF_HUB_OFFLINE", "1")
        return task.set_retry(**RETRIES)
