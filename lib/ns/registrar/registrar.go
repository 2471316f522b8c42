// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package registrar

import (
	"bytes"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = bytes.Equal
	_ = errors.New
	_ = big.NewInt
	_ = common.Big1
	_ = types.BloomLookup
	_ = abi.ConvertType
)

// GlobalRegistrarMetaData contains all meta data concerning the GlobalRegistrar contract.
var GlobalRegistrarMetaData = bind.MetaData{
	ABI: "[{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"name\",\"type\":\"bytes32\"}],\"name\":\"Changed\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"name\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"addr\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"address\",\"name\":\"owner\",\"type\":\"address\"}],\"name\":\"PrimaryChanged\",\"type\":\"event\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"_name\",\"type\":\"bytes32\"}],\"name\":\"addr\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"_name\",\"type\":\"bytes32\"}],\"name\":\"content\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"_name\",\"type\":\"bytes32\"}],\"name\":\"disown\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"_a\",\"type\":\"address\"}],\"name\":\"name\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"o_name\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"_name\",\"type\":\"bytes32\"}],\"name\":\"owner\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"_name\",\"type\":\"bytes32\"}],\"name\":\"publickey\",\"outputs\":[{\"internalType\":\"string\",\"name\":\"\",\"type\":\"string\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"_name\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"_a\",\"type\":\"address\"}],\"name\":\"reserve\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"_name\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"_owner\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"_a\",\"type\":\"address\"},{\"internalType\":\"string\",\"name\":\"_publickey\",\"type\":\"string\"},{\"internalType\":\"string\",\"name\":\"_signedname\",\"type\":\"string\"}],\"name\":\"reserveFor\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"_name\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"_a\",\"type\":\"address\"},{\"internalType\":\"bool\",\"name\":\"_primary\",\"type\":\"bool\"}],\"name\":\"setAddress\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"_name\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"_content\",\"type\":\"bytes32\"}],\"name\":\"setContent\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"_name\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"_registrar\",\"type\":\"address\"}],\"name\":\"setSubRegistrar\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"_name\",\"type\":\"bytes32\"}],\"name\":\"signature\",\"outputs\":[{\"internalType\":\"string\",\"name\":\"\",\"type\":\"string\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"_name\",\"type\":\"bytes32\"}],\"name\":\"subRegistrar\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"_name\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"_newOwner\",\"type\":\"address\"}],\"name\":\"transfer\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"}]",
	ID:  "GlobalRegistrar",
	Bin: "0x6080604052348015600f57600080fd5b50610c998061001f6000396000f3fe608060405234801561001057600080fd5b50600436106100ea5760003560e01c80635b873cdb1161008c578063be99a98011610066578063be99a98014610258578063c3d014d61461026b578063d93e75731461027e578063e7d3c6961461029157600080fd5b80635b873cdb1461021d57806379ce9fac1461023257806389a69c0e1461024557600080fd5b80632dff6941116100c85780632dff69411461018f5780633b3b57de146101b25780635762e6d0146101de5780635a3a05bd146101f157600080fd5b806301984892146100ef57806302571be31461012b5780631d747f141461016f575b600080fd5b6101186100fd366004610902565b6001600160a01b031660009081526020819052604090205490565b6040519081526020015b60405180910390f35b61015761013936600461091d565b6000908152600160205260409020600201546001600160a01b031690565b6040516001600160a01b039091168152602001610122565b61018261017d36600461091d565b6102a4565b6040516101229190610936565b61011861019d36600461091d565b60009081526001602052604090206005015490565b6101576101c036600461091d565b6000908152600160205260409020600301546001600160a01b031690565b6101826101ec36600461091d565b610346565b6101576101ff36600461091d565b6000908152600160205260409020600401546001600160a01b031690565b61023061022b366004610984565b610369565b005b610230610240366004610984565b61041f565b610230610253366004610984565b610489565b6102306102663660046109b0565b6104f2565b6102306102793660046109f5565b6105cd565b61023061028c36600461091d565b610620565b61023061029f366004610a60565b610764565b60008181526001602052604090208054606091906102c190610b00565b80601f01602080910402602001604051908101604052809291908181526020018280546102ed90610b00565b801561033a5780601f1061030f5761010080835404028352916020019161033a565b820191906000526020600020905b81548152906001019060200180831161031d57829003601f168201915b50505050509050919050565b60606001600083815260200190815260200160002060010180546102c190610b00565b610373828261084f565b1561041b5760008281526001602090815260408083206002810180546001600160a01b031990811633179091556003820180546001600160a01b0388169216821790558452918390528083208590555190918491600080516020610c6d8339815191529190a26040513381526001600160a01b0383169084907f63ccb174f7bb7cb812a8099faa566bdb1770c6020a4c203a20e37bb9db10b8d29060200160405180910390a3505b5050565b6000828152600160205260409020600201548290336001600160a01b03909116036104845760008381526001602052604080822060020180546001600160a01b0319166001600160a01b038616179055518491600080516020610c6d83398151915291a25b505050565b6000828152600160205260409020600201548290336001600160a01b03909116036104845760008381526001602052604080822060040180546001600160a01b0319166001600160a01b038616179055518491600080516020610c6d83398151915291a2505050565b6000838152600160205260409020600201548390336001600160a01b03909116036105c75760008481526001602052604090206003810180546001600160a01b0319166001600160a01b03861617905582156105ac5760028101546040516001600160a01b0391821681529085169086907f63ccb174f7bb7cb812a8099faa566bdb1770c6020a4c203a20e37bb9db10b8d29060200160405180910390a36001600160a01b03841660009081526020819052604090208590555b6040518590600080516020610c6d83398151915290600090a2505b50505050565b6000828152600160205260409020600201548290336001600160a01b039091160361048457600083815260016020526040808220600501849055518491600080516020610c6d83398151915291a2505050565b6000818152600160205260409020600201548190336001600160a01b039091160361041b57600082815260016020908152604080832060038101546001600160a01b0316845291839052909120548390036106df57600381015460028201546040516001600160a01b03918216815291169084907f63ccb174f7bb7cb812a8099faa566bdb1770c6020a4c203a20e37bb9db10b8d29060200160405180910390a360038101546001600160a01b03166000908152602081905260408120555b6000838152600160205260408120906106f88282610894565b610706600183016000610894565b506002810180546001600160a01b03199081169091556003820180548216905560048201805490911690556000600582018190556006820181905560079091018190556040518491600080516020610c6d83398151915291a2505050565b61076e878661084f565b156108465760008781526001602052604090206002810180546001600160a01b03808a166001600160a01b03199283161790925560038301805492891692909116919091179055806107c1858783610bab565b50600181016107d1838583610bab565b506001600160a01b0386166000908152602081905260408082208a9055518991600080516020610c6d83398151915291a26040516001600160a01b03888116825287169089907f63ccb174f7bb7cb812a8099faa566bdb1770c6020a4c203a20e37bb9db10b8d29060200160405180910390a3505b50505050505050565b6000828152600160205260408120600201546001600160a01b031615801561088d57506001600160a01b038216600090815260208190526040902054155b9392505050565b5080546108a090610b00565b6000825580601f106108b0575050565b601f0160209004906000526020600020906108cb91906108cd565b565b60005b80821115610484576000818401556001016108d0565b80356001600160a01b03811681146108fd57600080fd5b919050565b60006020828403121561091457600080fd5b61088d826108e6565b60006020828403121561092f57600080fd5b5035919050565b602081526000825180602084015260005b818110156109645760208186018101516040868401015201610947565b506000604082850101526040601f19601f83011684010191505092915050565b6000806040838503121561099757600080fd5b823591506109a7602084016108e6565b90509250929050565b6000806000606084860312156109c557600080fd5b833592506109d5602085016108e6565b9150604084013580151581146109ea57600080fd5b809150509250925092565b60008060408385031215610a0857600080fd5b50508035926020909101359150565b60008083601f840112610a2957600080fd5b50813567ffffffffffffffff811115610a4157600080fd5b602083019150836020828501011115610a5957600080fd5b9250929050565b600080600080600080600060a0888a031215610a7b57600080fd5b87359650610a8b602089016108e6565b9550610a99604089016108e6565b9450606088013567ffffffffffffffff811115610ab557600080fd5b610ac18a828b01610a17565b909550935050608088013567ffffffffffffffff811115610ae157600080fd5b610aed8a828b01610a17565b989b979a50959850939692959293505050565b600181811c90821680610b1457607f821691505b602082108103610b3457634e487b7160e01b600052602260045260246000fd5b50919050565b634e487b7160e01b600052604160045260246000fd5b601f821115610484578282111561048457806000526020600020601f840160051c6020851015610b7e575060005b90810190601f840160051c0360005b81811015610ba357600083820155600101610b8d565b505050505050565b67ffffffffffffffff831115610bc357610bc3610b3a565b610bd783610bd18354610b00565b83610b50565b6000601f841160018114610c0b5760008515610bf35750838201355b600019600387901b1c1916600186901b178355610c65565b600083815260209020601f19861690835b82811015610c3c5786850135825560209485019460019092019101610c1c565b5086821015610c595760001960f88860031b161c19848701351681555b505060018560011b0183555b505050505056fea6697e974e6a320f454390be03f74955e8978f1a6971ea6730542e37b66179bca164736f6c6343000825000a",
}

// GlobalRegistrar is an auto generated Go binding around an Ethereum contract.
type GlobalRegistrar struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *GlobalRegistrar) GetABI() abi.ABI {
	return c.abi
}

// NewGlobalRegistrar creates a new instance of GlobalRegistrar.
func NewGlobalRegistrar() *GlobalRegistrar {
	parsed, err := GlobalRegistrarMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &GlobalRegistrar{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *GlobalRegistrar) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackAddr is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x3b3b57de.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function addr(bytes32 _name) view returns(address)
func (globalRegistrar *GlobalRegistrar) PackAddr(name [32]byte) []byte {
	enc, err := globalRegistrar.abi.Pack("addr", name)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAddr is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x3b3b57de.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function addr(bytes32 _name) view returns(address)
func (globalRegistrar *GlobalRegistrar) TryPackAddr(name [32]byte) ([]byte, error) {
	return globalRegistrar.abi.Pack("addr", name)
}

// UnpackAddr is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x3b3b57de.
//
// Solidity: function addr(bytes32 _name) view returns(address)
func (globalRegistrar *GlobalRegistrar) UnpackAddr(data []byte) (common.Address, error) {
	out, err := globalRegistrar.abi.Unpack("addr", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackContent is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2dff6941.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function content(bytes32 _name) view returns(bytes32)
func (globalRegistrar *GlobalRegistrar) PackContent(name [32]byte) []byte {
	enc, err := globalRegistrar.abi.Pack("content", name)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackContent is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2dff6941.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function content(bytes32 _name) view returns(bytes32)
func (globalRegistrar *GlobalRegistrar) TryPackContent(name [32]byte) ([]byte, error) {
	return globalRegistrar.abi.Pack("content", name)
}

// UnpackContent is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x2dff6941.
//
// Solidity: function content(bytes32 _name) view returns(bytes32)
func (globalRegistrar *GlobalRegistrar) UnpackContent(data []byte) ([32]byte, error) {
	out, err := globalRegistrar.abi.Unpack("content", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackDisown is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xd93e7573.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function disown(bytes32 _name) returns()
func (globalRegistrar *GlobalRegistrar) PackDisown(name [32]byte) []byte {
	enc, err := globalRegistrar.abi.Pack("disown", name)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDisown is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xd93e7573.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function disown(bytes32 _name) returns()
func (globalRegistrar *GlobalRegistrar) TryPackDisown(name [32]byte) ([]byte, error) {
	return globalRegistrar.abi.Pack("disown", name)
}

// PackName is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x01984892.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function name(address _a) view returns(bytes32 o_name)
func (globalRegistrar *GlobalRegistrar) PackName(a common.Address) []byte {
	enc, err := globalRegistrar.abi.Pack("name", a)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackName is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x01984892.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function name(address _a) view returns(bytes32 o_name)
func (globalRegistrar *GlobalRegistrar) TryPackName(a common.Address) ([]byte, error) {
	return globalRegistrar.abi.Pack("name", a)
}

// UnpackName is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x01984892.
//
// Solidity: function name(address _a) view returns(bytes32 o_name)
func (globalRegistrar *GlobalRegistrar) UnpackName(data []byte) ([32]byte, error) {
	out, err := globalRegistrar.abi.Unpack("name", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x02571be3.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function owner(bytes32 _name) view returns(address)
func (globalRegistrar *GlobalRegistrar) PackOwner(name [32]byte) []byte {
	enc, err := globalRegistrar.abi.Pack("owner", name)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x02571be3.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function owner(bytes32 _name) view returns(address)
func (globalRegistrar *GlobalRegistrar) TryPackOwner(name [32]byte) ([]byte, error) {
	return globalRegistrar.abi.Pack("owner", name)
}

// UnpackOwner is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x02571be3.
//
// Solidity: function owner(bytes32 _name) view returns(address)
func (globalRegistrar *GlobalRegistrar) UnpackOwner(data []byte) (common.Address, error) {
	out, err := globalRegistrar.abi.Unpack("owner", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackPublickey is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1d747f14.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function publickey(bytes32 _name) view returns(string)
func (globalRegistrar *GlobalRegistrar) PackPublickey(name [32]byte) []byte {
	enc, err := globalRegistrar.abi.Pack("publickey", name)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackPublickey is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1d747f14.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function publickey(bytes32 _name) view returns(string)
func (globalRegistrar *GlobalRegistrar) TryPackPublickey(name [32]byte) ([]byte, error) {
	return globalRegistrar.abi.Pack("publickey", name)
}

// UnpackPublickey is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x1d747f14.
//
// Solidity: function publickey(bytes32 _name) view returns(string)
func (globalRegistrar *GlobalRegistrar) UnpackPublickey(data []byte) (string, error) {
	out, err := globalRegistrar.abi.Unpack("publickey", data)
	if err != nil {
		return *new(string), err
	}
	out0 := *abi.ConvertType(out[0], new(string)).(*string)
	return out0, nil
}

// PackReserve is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x5b873cdb.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function reserve(bytes32 _name, address _a) returns()
func (globalRegistrar *GlobalRegistrar) PackReserve(name [32]byte, a common.Address) []byte {
	enc, err := globalRegistrar.abi.Pack("reserve", name, a)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackReserve is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x5b873cdb.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function reserve(bytes32 _name, address _a) returns()
func (globalRegistrar *GlobalRegistrar) TryPackReserve(name [32]byte, a common.Address) ([]byte, error) {
	return globalRegistrar.abi.Pack("reserve", name, a)
}

// PackReserveFor is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe7d3c696.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function reserveFor(bytes32 _name, address _owner, address _a, string _publickey, string _signedname) returns()
func (globalRegistrar *GlobalRegistrar) PackReserveFor(name [32]byte, owner common.Address, a common.Address, publickey string, signedname string) []byte {
	enc, err := globalRegistrar.abi.Pack("reserveFor", name, owner, a, publickey, signedname)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackReserveFor is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe7d3c696.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function reserveFor(bytes32 _name, address _owner, address _a, string _publickey, string _signedname) returns()
func (globalRegistrar *GlobalRegistrar) TryPackReserveFor(name [32]byte, owner common.Address, a common.Address, publickey string, signedname string) ([]byte, error) {
	return globalRegistrar.abi.Pack("reserveFor", name, owner, a, publickey, signedname)
}

// PackSetAddress is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xbe99a980.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function setAddress(bytes32 _name, address _a, bool _primary) returns()
func (globalRegistrar *GlobalRegistrar) PackSetAddress(name [32]byte, a common.Address, primary bool) []byte {
	enc, err := globalRegistrar.abi.Pack("setAddress", name, a, primary)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSetAddress is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xbe99a980.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function setAddress(bytes32 _name, address _a, bool _primary) returns()
func (globalRegistrar *GlobalRegistrar) TryPackSetAddress(name [32]byte, a common.Address, primary bool) ([]byte, error) {
	return globalRegistrar.abi.Pack("setAddress", name, a, primary)
}

// PackSetContent is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xc3d014d6.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function setContent(bytes32 _name, bytes32 _content) returns()
func (globalRegistrar *GlobalRegistrar) PackSetContent(name [32]byte, content [32]byte) []byte {
	enc, err := globalRegistrar.abi.Pack("setContent", name, content)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSetContent is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xc3d014d6.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function setContent(bytes32 _name, bytes32 _content) returns()
func (globalRegistrar *GlobalRegistrar) TryPackSetContent(name [32]byte, content [32]byte) ([]byte, error) {
	return globalRegistrar.abi.Pack("setContent", name, content)
}

// PackSetSubRegistrar is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x89a69c0e.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function setSubRegistrar(bytes32 _name, address _registrar) returns()
func (globalRegistrar *GlobalRegistrar) PackSetSubRegistrar(name [32]byte, registrar common.Address) []byte {
	enc, err := globalRegistrar.abi.Pack("setSubRegistrar", name, registrar)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSetSubRegistrar is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x89a69c0e.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function setSubRegistrar(bytes32 _name, address _registrar) returns()
func (globalRegistrar *GlobalRegistrar) TryPackSetSubRegistrar(name [32]byte, registrar common.Address) ([]byte, error) {
	return globalRegistrar.abi.Pack("setSubRegistrar", name, registrar)
}

// PackSignature is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x5762e6d0.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function signature(bytes32 _name) view returns(string)
func (globalRegistrar *GlobalRegistrar) PackSignature(name [32]byte) []byte {
	enc, err := globalRegistrar.abi.Pack("signature", name)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSignature is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x5762e6d0.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function signature(bytes32 _name) view returns(string)
func (globalRegistrar *GlobalRegistrar) TryPackSignature(name [32]byte) ([]byte, error) {
	return globalRegistrar.abi.Pack("signature", name)
}

// UnpackSignature is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x5762e6d0.
//
// Solidity: function signature(bytes32 _name) view returns(string)
func (globalRegistrar *GlobalRegistrar) UnpackSignature(data []byte) (string, error) {
	out, err := globalRegistrar.abi.Unpack("signature", data)
	if err != nil {
		return *new(string), err
	}
	out0 := *abi.ConvertType(out[0], new(string)).(*string)
	return out0, nil
}

// PackSubRegistrar is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x5a3a05bd.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function subRegistrar(bytes32 _name) view returns(address)
func (globalRegistrar *GlobalRegistrar) PackSubRegistrar(name [32]byte) []byte {
	enc, err := globalRegistrar.abi.Pack("subRegistrar", name)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSubRegistrar is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x5a3a05bd.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function subRegistrar(bytes32 _name) view returns(address)
func (globalRegistrar *GlobalRegistrar) TryPackSubRegistrar(name [32]byte) ([]byte, error) {
	return globalRegistrar.abi.Pack("subRegistrar", name)
}

// UnpackSubRegistrar is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x5a3a05bd.
//
// Solidity: function subRegistrar(bytes32 _name) view returns(address)
func (globalRegistrar *GlobalRegistrar) UnpackSubRegistrar(data []byte) (common.Address, error) {
	out, err := globalRegistrar.abi.Unpack("subRegistrar", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackTransfer is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x79ce9fac.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function transfer(bytes32 _name, address _newOwner) returns()
func (globalRegistrar *GlobalRegistrar) PackTransfer(name [32]byte, newOwner common.Address) []byte {
	enc, err := globalRegistrar.abi.Pack("transfer", name, newOwner)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTransfer is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x79ce9fac.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function transfer(bytes32 _name, address _newOwner) returns()
func (globalRegistrar *GlobalRegistrar) TryPackTransfer(name [32]byte, newOwner common.Address) ([]byte, error) {
	return globalRegistrar.abi.Pack("transfer", name, newOwner)
}

// GlobalRegistrarChanged represents a Changed event raised by the GlobalRegistrar contract.
type GlobalRegistrarChanged struct {
	Name [32]byte
	Raw  *types.Log // Blockchain specific contextual infos
}

const GlobalRegistrarChangedEventName = "Changed"

// ContractEventName returns the user-defined event name.
func (GlobalRegistrarChanged) ContractEventName() string {
	return GlobalRegistrarChangedEventName
}

// UnpackChangedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Changed(bytes32 indexed name)
func (globalRegistrar *GlobalRegistrar) UnpackChangedEvent(log *types.Log) (*GlobalRegistrarChanged, error) {
	event := "Changed"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != globalRegistrar.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(GlobalRegistrarChanged)
	if len(log.Data) > 0 {
		if err := globalRegistrar.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range globalRegistrar.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// GlobalRegistrarPrimaryChanged represents a PrimaryChanged event raised by the GlobalRegistrar contract.
type GlobalRegistrarPrimaryChanged struct {
	Name  [32]byte
	Addr  common.Address
	Owner common.Address
	Raw   *types.Log // Blockchain specific contextual infos
}

const GlobalRegistrarPrimaryChangedEventName = "PrimaryChanged"

// ContractEventName returns the user-defined event name.
func (GlobalRegistrarPrimaryChanged) ContractEventName() string {
	return GlobalRegistrarPrimaryChangedEventName
}

// UnpackPrimaryChangedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event PrimaryChanged(bytes32 indexed name, address indexed addr, address owner)
func (globalRegistrar *GlobalRegistrar) UnpackPrimaryChangedEvent(log *types.Log) (*GlobalRegistrarPrimaryChanged, error) {
	event := "PrimaryChanged"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != globalRegistrar.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(GlobalRegistrarPrimaryChanged)
	if len(log.Data) > 0 {
		if err := globalRegistrar.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range globalRegistrar.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}
