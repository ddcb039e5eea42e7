Attribute VB_Name = "SopRibbon"
Option Explicit
' sop-excel ribbon callbacks. Source of truth: workbook_templates/ribbon/SopRibbon.bas in the
' sop-excel repository; `sop-excel template` builds it into the workbook. Do not edit it here.
'
' Every planning button of the S&OP tab calls SopButton (named unlike this module: a macro that
' shares its module's name is a known cause of "Cannot run the macro"). Its Tag, a fixed
' identifier written in customUI14.xml (never user data), names the action; Python does the
' work: sop_excel.xl.run(tag) runs the same function as the matching sop-excel command and shows
' what it did in a message box. RunPython is the xlwings module built into this workbook.
' A new button needs no new VBA: give it onAction="SopButton" and a tag that sop_excel.xl knows.

Public Sub SopButton(control As IRibbonControl)
    Dim tag As String
    tag = control.Tag
    ' Defence in depth: a tag is lower-case letters and underscores only.
    If Len(tag) = 0 Or tag Like "*[!a-z_]*" Then
        MsgBox "This button has no valid action tag: '" & tag & "'.", vbExclamation, "sop-excel"
        Exit Sub
    End If
    RunPython "import sop_excel.xl; sop_excel.xl.run('" & tag & "')"
End Sub

Public Sub SopImportFunctions(control As IRibbonControl)
    ' xlwings reads the UDF modules from the xlwings.conf sheet ("UDF Modules": udfs).
    ImportPythonUDFs
End Sub

Public Function SopProtection(ByVal sheetName As String, ByVal action As String) As String
    ' Called by sop-excel (xlwings' Book.macro) around its writes to a protected sheet (Plan of
    ' record, Snapshots): "unprotect" answers "protected" (it was, and is not any more) or
    ' "unprotected" (it was not); "protect" protects it again as the template does (sorting and
    ' filtering allowed, no password). A sheet protected with a password answers "error: ...".
    Dim ws As Worksheet
    On Error GoTo Failed
    Set ws = ThisWorkbook.Worksheets(sheetName)
    If action = "unprotect" Then
        If ws.ProtectContents Then
            ws.Unprotect
            SopProtection = "protected"
        Else
            SopProtection = "unprotected"
        End If
    ElseIf action = "protect" Then
        ws.Protect DrawingObjects:=True, Contents:=True, Scenarios:=True, _
            AllowSorting:=True, AllowFiltering:=True
        SopProtection = "protected"
    Else
        SopProtection = "error: unknown action " & action
    End If
    Exit Function
Failed:
    SopProtection = "error: " & Err.Description
End Function
