"""The PyTorch "Learn the Basics" quickstart (pytorch/tutorials,
`beginner_source/basics/quickstart_tutorial.py`), run on tinygradcnn.

The tutorial's code as published today, with only these changes:

- the imports: `import tinygradcnn as torch` for `import torch`, `tinygradcnn.nn` for
  `torch.nn`, `tinygradcnn.utils.data` for `torch.utils.data`, `tinygradcnn.data` for
  `torchvision`'s `datasets` and `transforms`, and `import os`;
- the two data-set lines: Fashion-MNIST is read from $TINYGRADCNN_DATA (else from "data",
  the tutorial's own folder, where it downloads);
- the device line is the tutorial's earlier one, `"cuda" if torch.cuda.is_available() else
  "cpu"`, as tinygradcnn has CUDA but no `torch.accelerator`.

Everything else (ToTensor, DataLoader batch 64, the NeuralNetwork of nn.Flatten and an
nn.Sequential of Linear/ReLU 512, CrossEntropyLoss, SGD lr=1e-3, the train and test loops and
their printing, `torch.save`/`torch.load` of the state dict, the prediction of one test image)
is the original, line for line. Run it from any folder (it writes model.pth there):

    python examples/pytorch_ports/quickstart.py        # 5 epochs

(The tutorial, on PyTorch, prints a test accuracy of about 64% after the 5 epochs.)
"""

import os

import tinygradcnn as torch
from tinygradcnn import nn
from tinygradcnn.data import datasets
from tinygradcnn.data.transforms import ToTensor
from tinygradcnn.utils.data import DataLoader

# Download training data from open datasets.
training_data = datasets.FashionMNIST(
    root=os.environ.get("TINYGRADCNN_DATA", "data"),
    train=True,
    download=True,
    transform=ToTensor(),
)

# Download test data from open datasets.
test_data = datasets.FashionMNIST(
    root=os.environ.get("TINYGRADCNN_DATA", "data"),
    train=False,
    download=True,
    transform=ToTensor(),
)

batch_size = 64

# Create data loaders.
train_dataloader = DataLoader(training_data, batch_size=batch_size)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

for X, y in test_dataloader:
    print(f"Shape of X [N, C, H, W]: {X.shape}")
    print(f"Shape of y: {y.shape} {y.dtype}")
    break

# Get cpu or gpu device for training.
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"Using {device} device")

# Define model
class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28*28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10)
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits

model = NeuralNetwork().to(device)
print(model)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)

        # Compute prediction error
        pred = model(X)
        loss = loss_fn(pred, y)

        # Backpropagation
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if batch % 100 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")

def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")

epochs = 5
for t in range(epochs):
    print(f"Epoch {t+1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    test(test_dataloader, model, loss_fn)
print("Done!")

torch.save(model.state_dict(), "model.pth")
print("Saved PyTorch Model State to model.pth")

model = NeuralNetwork().to(device)
model.load_state_dict(torch.load("model.pth", weights_only=True))

classes = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

model.eval()
x, y = test_data[0][0], test_data[0][1]
with torch.no_grad():
    x = x.to(device)
    pred = model(x)
    predicted, actual = classes[pred[0].argmax(0)], classes[y]
    print(f'Predicted: "{predicted}", Actual: "{actual}"')
