"""``MixerSpec``: the architecture of one Mixer model (dims, patch, token grid, head), in one value."""

from __future__ import annotations

from dataclasses import dataclass

from mmmixer.models.backbones.mlp_mixer import ARCH_ZOO


@dataclass(frozen=True)
class MixerSpec:
    """What the tensors say about the model that produced them."""

    embed_dims: int
    num_layers: int
    tokens_mlp_dims: int
    channels_mlp_dims: int
    patch_size: int
    grid: tuple[int, int]
    in_channels: int
    num_classes: int  # 0: no head

    @property
    def arch(self) -> dict:
        return dict(
            embed_dims=self.embed_dims,
            num_layers=self.num_layers,
            tokens_mlp_dims=self.tokens_mlp_dims,
            channels_mlp_dims=self.channels_mlp_dims,
        )

    @property
    def arch_name(self) -> str | None:
        """'s', 'b', 'l' or 'h' when the dims are the paper's, else None."""
        return next((name for name in ('s', 'b', 'l', 'h') if ARCH_ZOO[name] == self.arch), None)

    @property
    def img_size(self) -> tuple[int, int]:
        return self.grid[0] * self.patch_size, self.grid[1] * self.patch_size

    @property
    def mlp_ratio(self) -> tuple[float, float]:
        """timm's ``mlp_ratio``: the token and channel MLPs' hidden widths over ``embed_dims``."""
        return self.tokens_mlp_dims / self.embed_dims, self.channels_mlp_dims / self.embed_dims

    def describe(self) -> str:
        name = f'Mixer-{self.arch_name.upper()}/{self.patch_size}' if self.arch_name else 'custom Mixer'
        head = f'{self.num_classes}-class head' if self.num_classes else 'no head'
        return (
            f'{name} (embed_dims={self.embed_dims}, num_layers={self.num_layers}, '
            f'tokens_mlp_dims={self.tokens_mlp_dims}, channels_mlp_dims={self.channels_mlp_dims}), '
            f'patch {self.patch_size}, grid {self.grid[0]}x{self.grid[1]} '
            f'({self.img_size[0]}x{self.img_size[1]} input), {head}'
        )

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        """timm name -> shape of every tensor of this model."""
        c, n = self.embed_dims, self.grid[0] * self.grid[1]
        shapes = {
            'stem.proj.weight': (c, self.in_channels, self.patch_size, self.patch_size),
            'stem.proj.bias': (c,),
            'norm.weight': (c,),
            'norm.bias': (c,),
        }
        for i in range(self.num_layers):
            for norm in ('norm1', 'norm2'):
                shapes[f'blocks.{i}.{norm}.weight'] = shapes[f'blocks.{i}.{norm}.bias'] = (c,)
            for mlp, width, hidden in (
                ('mlp_tokens', n, self.tokens_mlp_dims),
                ('mlp_channels', c, self.channels_mlp_dims),
            ):
                shapes[f'blocks.{i}.{mlp}.fc1.weight'] = (hidden, width)
                shapes[f'blocks.{i}.{mlp}.fc1.bias'] = (hidden,)
                shapes[f'blocks.{i}.{mlp}.fc2.weight'] = (width, hidden)
                shapes[f'blocks.{i}.{mlp}.fc2.bias'] = (width,)
        if self.num_classes:
            shapes['head.weight'] = (self.num_classes, c)
            shapes['head.bias'] = (self.num_classes,)
        return shapes


def paper_spec(arch: str | dict, patch_size: int, num_classes: int = 1000) -> MixerSpec:
    """The spec of a 224 px, 3-channel Mixer: ``arch`` a name of :data:`ARCH_ZOO` or a dict of its dims."""
    dims = ARCH_ZOO[arch] if isinstance(arch, str) else arch
    grid = (224 // patch_size, 224 // patch_size)
    return MixerSpec(**dims, patch_size=patch_size, grid=grid, in_channels=3, num_classes=num_classes)
