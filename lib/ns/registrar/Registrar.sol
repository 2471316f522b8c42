// SPDX-License-Identifier: MIT
pragma solidity >=0.8.0 <0.9.0;

// JamiNS registrar, written for jamikit from the interface of the contract
// the Jami name service deploys (spec/nameservice.md §3): the same functions,
// events and selectors, the same storage layout (slot 0: Jami ID -> name,
// slot 1: name -> record, record fields in the same order), and the same
// behaviour, so one server can drive either contract.
//
// Nothing reverts: a registration of a taken name, or an owner-only call
// from someone else, silently does nothing. Callers learn what happened
// from the events (reserveFor emits Changed then PrimaryChanged), which is
// how the server confirms a registration.
contract GlobalRegistrar {
    struct Record {
        string publicKey;   // base64 of the PEM public key, as posted
        string signedName;  // base64 of the signature over the name
        address owner;      // the account's Ethereum address; zero = free
        address primary;    // the Jami ID (20 bytes, not an Ethereum account)
        address subRegistrar;
        bytes32 content;
        uint256 value;       // never written
        uint256 renewalDate; // never written
    }

    mapping(address => bytes32) private m_toName;
    mapping(bytes32 => Record) private m_toRecord;

    event Changed(bytes32 indexed name);
    event PrimaryChanged(bytes32 indexed name, address indexed addr, address owner);

    // Owner-only calls from anyone else are skipped, not reverted.
    modifier onlyRecordOwner(bytes32 _name) {
        if (m_toRecord[_name].owner == msg.sender) {
            _;
        }
    }

    // A name can be taken only while it has no owner, and a Jami ID gets a
    // name only once.
    function isFree(bytes32 _name, address _a) private view returns (bool) {
        return m_toRecord[_name].owner == address(0) && m_toName[_a] == bytes32(0);
    }

    function reserve(bytes32 _name, address _a) external {
        if (isFree(_name, _a)) {
            Record storage r = m_toRecord[_name];
            r.owner = msg.sender;
            r.primary = _a;
            m_toName[_a] = _name;
            emit Changed(_name);
            emit PrimaryChanged(_name, _a, msg.sender);
        }
    }

    function reserveFor(bytes32 _name, address _owner, address _a, string calldata _publickey, string calldata _signedname) external {
        if (isFree(_name, _a)) {
            Record storage r = m_toRecord[_name];
            r.owner = _owner;
            r.primary = _a;
            r.publicKey = _publickey;
            r.signedName = _signedname;
            m_toName[_a] = _name;
            emit Changed(_name);
            emit PrimaryChanged(_name, _a, _owner);
        }
    }

    function transfer(bytes32 _name, address _newOwner) external onlyRecordOwner(_name) {
        m_toRecord[_name].owner = _newOwner;
        emit Changed(_name);
    }

    function disown(bytes32 _name) external onlyRecordOwner(_name) {
        Record storage r = m_toRecord[_name];
        if (m_toName[r.primary] == _name) {
            emit PrimaryChanged(_name, r.primary, r.owner);
            m_toName[r.primary] = bytes32(0);
        }
        delete m_toRecord[_name];
        emit Changed(_name);
    }

    function setAddress(bytes32 _name, address _a, bool _primary) external onlyRecordOwner(_name) {
        Record storage r = m_toRecord[_name];
        r.primary = _a;
        if (_primary) {
            emit PrimaryChanged(_name, _a, r.owner);
            m_toName[_a] = _name;
        }
        emit Changed(_name);
    }

    function setSubRegistrar(bytes32 _name, address _registrar) external onlyRecordOwner(_name) {
        m_toRecord[_name].subRegistrar = _registrar;
        emit Changed(_name);
    }

    function setContent(bytes32 _name, bytes32 _content) external onlyRecordOwner(_name) {
        m_toRecord[_name].content = _content;
        emit Changed(_name);
    }

    function owner(bytes32 _name) external view returns (address) {
        return m_toRecord[_name].owner;
    }

    function addr(bytes32 _name) external view returns (address) {
        return m_toRecord[_name].primary;
    }

    function subRegistrar(bytes32 _name) external view returns (address) {
        return m_toRecord[_name].subRegistrar;
    }

    function content(bytes32 _name) external view returns (bytes32) {
        return m_toRecord[_name].content;
    }

    function name(address _a) external view returns (bytes32 o_name) {
        return m_toName[_a];
    }

    function publickey(bytes32 _name) external view returns (string memory) {
        return m_toRecord[_name].publicKey;
    }

    function signature(bytes32 _name) external view returns (string memory) {
        return m_toRecord[_name].signedName;
    }
}
