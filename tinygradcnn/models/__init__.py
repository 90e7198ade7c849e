"""Ready-made models, torchvision's names and signatures, and a registry:
`get_model("resnet18", num_classes=10)`, `list_models()`, `resnet18(weights="r18.safetensors")`.

One file per family; `registry.py` names the builders and records how each model was built
(for `tg.save_model`), `weights.py` reads weight files (`weights=`), `files.py` writes and
reads whole-model files.
"""

from __future__ import annotations

from .alexnet import AlexNet as AlexNet
from .alexnet import alexnet as alexnet
from .convnext import CNBlock as CNBlock
from .convnext import ConvNeXt as ConvNeXt
from .convnext import convnext_base as convnext_base
from .convnext import convnext_large as convnext_large
from .convnext import convnext_small as convnext_small
from .convnext import convnext_tiny as convnext_tiny
from .detection import CenterNet as CenterNet
from .detection import centernet as centernet
from .efficientnet import EfficientNet as EfficientNet
from .efficientnet import MBConv as MBConv
from .efficientnet import efficientnet_b0 as efficientnet_b0
from .efficientnet import efficientnet_b1 as efficientnet_b1
from .efficientnet import efficientnet_b2 as efficientnet_b2
from .efficientnet import efficientnet_b3 as efficientnet_b3
from .efficientnet import efficientnet_b4 as efficientnet_b4
from .efficientnet import efficientnet_b5 as efficientnet_b5
from .efficientnet import efficientnet_b6 as efficientnet_b6
from .efficientnet import efficientnet_b7 as efficientnet_b7
from .faces import FaceCNN as FaceCNN
from .faces import FaceDetectorCNN as FaceDetectorCNN
from .faces import FaceEmbedder as FaceEmbedder
from .fcn1d import FCN1d as FCN1d
from .googlenet import GoogLeNet as GoogLeNet
from .googlenet import GoogLeNetOutputs as GoogLeNetOutputs
from .googlenet import googlenet as googlenet
from .lenet import FashionCNN as FashionCNN
from .lenet import LeNet5 as LeNet5
from .mobilenet import InvertedResidual as InvertedResidual
from .mobilenet import MobileNetV2 as MobileNetV2
from .mobilenet import mobilenet_v2 as mobilenet_v2
from .registry import INPUT_SIZES as INPUT_SIZES
from .registry import MODELS as MODELS
from .registry import get_model as get_model
from .registry import list_models as list_models
from .registry import model_arguments as model_arguments
from .registry import register_model as register_model
from .resnet import BasicBlock as BasicBlock
from .resnet import Bottleneck as Bottleneck
from .resnet import CifarResNet as CifarResNet
from .resnet import ResNet as ResNet
from .resnet import resnet18 as resnet18
from .resnet import resnet20 as resnet20
from .resnet import resnet32 as resnet32
from .resnet import resnet34 as resnet34
from .resnet import resnet44 as resnet44
from .resnet import resnet50 as resnet50
from .resnet import resnet56 as resnet56
from .resnet import resnet101 as resnet101
from .resnet import resnet152 as resnet152
from .resnet import resnext50_32x4d as resnext50_32x4d
from .resnet import resnext101_32x8d as resnext101_32x8d
from .resnet import resnext101_64x4d as resnext101_64x4d
from .resnet import wide_resnet50_2 as wide_resnet50_2
from .resnet import wide_resnet101_2 as wide_resnet101_2
from .vgg import VGG as VGG
from .vgg import vgg11 as vgg11
from .vgg import vgg11_bn as vgg11_bn
from .vgg import vgg13 as vgg13
from .vgg import vgg13_bn as vgg13_bn
from .vgg import vgg16 as vgg16
from .vgg import vgg16_bn as vgg16_bn
from .vgg import vgg19 as vgg19
from .vgg import vgg19_bn as vgg19_bn

register_model("lenet5", LeNet5, input_size=(1, 28, 28))
register_model("fashion-cnn", FashionCNN, input_size=(1, 28, 28))
register_model("face-cnn", FaceCNN, input_size=(1, 32, 32))
register_model("face-embedder", FaceEmbedder, input_size=(1, 32, 32))
register_model("face-detector-cnn", FaceDetectorCNN, input_size=(1, 25, 25))
register_model("fcn1d", FCN1d, input_size=(1, 150))
